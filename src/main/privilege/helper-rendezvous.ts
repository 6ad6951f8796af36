/**
 * The helper's first step, as root: trust the rendezvous file only when nobody but the invoking user could
 * have made it — an absolute path in a 0700 directory owned by that user, the file and the socket 0600 and
 * owned by that user, the sockets in the same directory. Everything is checked before anything is read or
 * deleted; the file is deleted only once it passed.
 */
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { lstat, open, rm } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import { BUFFER_BYTES, MAX_CONTROL, rendezvousFileSchema, type RendezvousFile } from '../engine/device/device-wire';

/** A refusal the helper explains and exits on. */
export class HelperRefusal extends Error {}

const ID = /^\d{1,10}$/;

/**
 * The user who asked for the helper: pkexec and sudo say who invoked them (PKEXEC_UID, SUDO_UID); the
 * command line carries the uid of the process that wrote the rendezvous. They must agree; with neither
 * variable set (the helper run directly), the command line's uid is taken.
 */
export function invokingUid(argUid: string | undefined, env: NodeJS.ProcessEnv): number {
  if (argUid === undefined || !ID.test(argUid)) throw new HelperRefusal('usage: helper.cjs <rendezvous file> <uid of the user who asked>');
  const uid = Number(argUid);
  for (const name of ['PKEXEC_UID', 'SUDO_UID'] as const) {
    const value = env[name];
    if (value !== undefined && value !== '' && Number(value) !== uid) {
      throw new HelperRefusal(`the helper was started by uid ${value} (${name}) for a rendezvous of uid ${uid}; refusing`);
    }
  }
  return uid;
}

function owned(what: string, path: string, info: { uid: number; mode: number }, uid: number, mode: number): void {
  if (info.uid !== uid) throw new HelperRefusal(`the rendezvous ${what} ${path} belongs to uid ${info.uid}, not to the user who asked (uid ${uid}); refusing`);
  if ((info.mode & 0o7777) !== mode) {
    throw new HelperRefusal(`the rendezvous ${what} ${path} has mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')}, not ${mode.toString(8).padStart(4, '0')}; refusing`);
  }
}

async function lstatOrRefuse(what: string, path: string): Promise<Stats> {
  try {
    return await lstat(path);
  } catch {
    throw new HelperRefusal(`the rendezvous ${what} ${path} does not exist`);
  }
}

/**
 * Opens the transfer buffer the rendezvous names: a single 0600 file of the asking user, of the agreed size,
 * in the rendezvous directory, opened without following links and checked to be the file that was looked at.
 */
async function openBuffer(path: string, dir: string, uid: number): Promise<number> {
  if (dirname(path) !== dir) throw new HelperRefusal(`the transfer buffer ${path} is not in ${dir}; refusing`);
  const info = await lstatOrRefuse('transfer buffer', path);
  if (!info.isFile()) throw new HelperRefusal(`the transfer buffer ${path} is not a regular file; refusing`);
  owned('transfer buffer', path, info, uid, 0o600);
  if (info.nlink !== 1 || info.size !== BUFFER_BYTES) throw new HelperRefusal(`the transfer buffer ${path} is not a single file of ${BUFFER_BYTES} bytes; refusing`);
  const fd = openSync(path, constants.O_RDWR | (constants.O_NOFOLLOW ?? 0));
  const opened = fstatSync(fd);
  if (opened.ino !== info.ino || opened.dev !== info.dev) {
    closeSync(fd);
    throw new HelperRefusal(`the transfer buffer ${path} changed while it was checked; refusing`);
  }
  return fd;
}

/**
 * Checks, reads and deletes the rendezvous file, and opens the transfer buffer it names. Throws HelperRefusal
 * naming what is wrong.
 */
export async function takeRendezvous(file: string, uid: number): Promise<RendezvousFile & { handoverPath: string | null; buffer: number }> {
  if (!isAbsolute(file)) throw new HelperRefusal(`the rendezvous file must be an absolute path, not ${file}`);
  const dir = dirname(file);
  const dirInfo = await lstatOrRefuse('directory', dir);
  if (!dirInfo.isDirectory()) throw new HelperRefusal(`the rendezvous directory ${dir} is not a directory; refusing`);
  owned('directory', dir, dirInfo, uid, 0o700);
  const fileInfo = await lstatOrRefuse('file', file);
  if (!fileInfo.isFile()) throw new HelperRefusal(`the rendezvous file ${file} is not a regular file; refusing`);
  owned('file', file, fileInfo, uid, 0o600);
  if (fileInfo.nlink !== 1 || fileInfo.size > MAX_CONTROL) throw new HelperRefusal(`the rendezvous file ${file} is not a single small file; refusing`);

  const handle = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  let text: string;
  try {
    const opened = await handle.stat();
    if (opened.ino !== fileInfo.ino || opened.dev !== fileInfo.dev) throw new HelperRefusal(`the rendezvous file ${file} changed while it was checked; refusing`);
    const buf = Buffer.alloc(MAX_CONTROL + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  let parsed: RendezvousFile;
  try {
    parsed = rendezvousFileSchema.parse(JSON.parse(text));
  } catch {
    throw new HelperRefusal(`the rendezvous file ${file} is malformed; refusing`);
  }
  await checkSocket('socket', parsed.socketPath, dir, uid);
  const handoverPath = parsed.handoverPath ?? null;
  if (handoverPath !== null) await checkSocket('handover socket', handoverPath, dir, uid);
  const buffer = await openBuffer(parsed.bufferPath, dir, uid);
  await rm(file, { force: true });
  return { ...parsed, handoverPath, buffer };
}

/** A socket of the rendezvous: in its directory, a socket, 0600 and the asking user's. */
async function checkSocket(what: string, path: string, dir: string, uid: number): Promise<void> {
  if (dirname(path) !== dir) throw new HelperRefusal(`the rendezvous ${what} ${path} is not in ${dir}; refusing`);
  const info = await lstatOrRefuse(what, path);
  if (!info.isSocket()) throw new HelperRefusal(`the rendezvous ${what} ${path} is not a socket; refusing`);
  owned(what, path, info, uid, 0o600);
}
