export type { DecoderPreference, ImageSource } from './types';
export { openSource, type OpenSourceOptions } from './open-source';
export { discoverBmap, bmapCandidates } from './discover-bmap';
export { detectFormat } from './detect';
