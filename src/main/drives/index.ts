/** The drives module's surface for main, the CLI and the engine's pre-checks. */
export { DriveError } from './drive-error';
export { createDriveService, type DriveService, type DriveServiceOptions } from './drive-service';
export { listDrives, type ListDrivesOptions } from './list-drives';
export { ejectDrive, isMounted, mountedPaths, unmountDrive } from './unmount';
