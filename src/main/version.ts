import pkg from '../../package.json';

/** Sureflash's version, from package.json (bundled at build time). */
export const VERSION: string = pkg.version;
