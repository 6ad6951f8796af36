/** The drive-rules context for the current image: what evaluateDrive needs from the store. */
import type { ImageInfo } from '../../shared/api';
import type { DriveContext } from '../../shared/drive-rules';

export function imageContext(image: ImageInfo | null, showHidden: boolean): Omit<DriveContext, 'allDrives'> {
  return {
    imageSize: image ? (image.imageSize ?? image.bmap?.imageSize ?? null) : null,
    imagePath: image?.path ?? null,
    showHidden,
  };
}
