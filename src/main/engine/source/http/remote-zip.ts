/**
 * A zip archive on an HTTP(S) server, read without downloading it whole: its directory (at the end of the
 * file) and the image member's data through Range requests, each resumable like any other read. Needs a
 * server that supports ranges and tells the size; otherwise it is refused with a clear error.
 */
import { Readable } from 'node:stream';
import { EngineError } from '../../errors';
import { openZipImage, type ZipAccess, type ZipImage } from '../zip-archive';
import type { RemoteFile } from './remote-file';

export async function openRemoteZip(remote: RemoteFile): Promise<ZipImage> {
  if (!remote.ranges || remote.size === null) {
    throw new EngineError(
      'DOWNLOAD_NOT_RESUMABLE',
      `${remote.where}: a zip archive keeps its directory at its end, so reading it from a URL needs a server that supports Range requests and says the size; this one does not. Download the archive first, or flash a .gz/.xz/.zst image.`,
    );
  }
  const { default: yauzl } = await import('yauzl');
  const stream = (start: number, end: number): Readable => Readable.from(remote.read(start, end), { objectMode: false });
  class RemoteReader extends yauzl.RandomAccessReader {
    override _readStreamForRange(start: number, end: number): Readable {
      return stream(start, end);
    }
  }
  const access: ZipAccess = { size: remote.size, reader: new RemoteReader(), rangeStream: stream };
  return openZipImage(remote.display, access);
}
