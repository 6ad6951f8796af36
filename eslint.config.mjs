// Lint enforces the layering of docs/architecture.md: the rooms of the house import only downwards, the
// privileged helper reaches only what it serves, nothing imports in a circle, src/shared stays pure, and main
// and the renderer never import each other. The house rules (scripts/eslint/) work on resolved files, so
// every spelling of an import and type-only imports count; test/unit/lint-layering.test.ts proves each one.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import house from './scripts/eslint/house-plugin.mjs';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'stream', 'net', 'http', 'zlib'];
const pattern = (group, message) => ({ group, message });
const room = (name) => `src/main/${name}/**`;
const rooms = (...names) => names.map(room);

/** Who may not import whom (docs/architecture.md, "Layering"). Each zone applies to the files it names. */
const LAYERS = [
  {
    files: [room('engine')],
    forbid: [...rooms('services', 'api', 'ipc', 'host', 'app', 'cli', 'privilege', 'drives', 'station', 'history'), 'electron'],
    message: 'The engine imports only src/shared, src/main/system and its own files: pass what it needs in.',
  },
  {
    files: rooms('services', 'api'),
    forbid: [...rooms('app', 'ipc', 'host', 'cli'), 'electron'],
    message: 'Services (and the Api core) run without Electron and never import the transports above them.',
  },
  {
    files: [room('drives')],
    forbid: [...rooms('services', 'api', 'ipc', 'host', 'app', 'cli', 'privilege', 'station', 'history'), 'electron'],
    message: 'drives is below services: it imports src/shared, src/main/system and its own files only.',
  },
  {
    files: [room('history')],
    forbid: [...rooms('engine', 'drives', 'station', 'services', 'api', 'ipc', 'host', 'app', 'cli', 'privilege'), 'electron'],
    message: 'history stands on src/shared and src/main/system only: the SQLite store and the recorder, handed what to record.',
  },
  {
    files: [room('station')],
    forbid: [...rooms('services', 'api', 'ipc', 'host', 'app', 'cli', 'privilege'), 'electron'],
    message: 'The station stands on the engine, drives and history, below services and the CLI: it is handed its engine runner.',
  },
  {
    files: [room('privilege')],
    forbid: [...rooms('drives', 'services', 'api', 'ipc', 'host', 'app', 'cli'), 'electron'],
    message: 'privilege stands beside drives, below services: it imports the engine, system and shared only.',
  },
  {
    files: [room('cli')],
    forbid: [...rooms('app', 'ipc', 'host'), 'electron'],
    message: 'The CLI stands beside the app and the browser host, not on them.',
  },
  {
    files: [room('host')],
    forbid: [...rooms('app', 'ipc', 'cli'), 'electron'],
    message: 'The browser host runs without Electron and beside the app, not on it.',
  },
  {
    files: [room('system')],
    allow: [room('system'), 'node:*'],
    message: 'src/main/system is the ground floor: Node built-ins and its own files only.',
  },
  {
    files: ['src/main/**'],
    forbid: ['src/renderer/**'],
    message: 'main never imports the renderer.',
  },
  {
    files: ['src/renderer/**'],
    forbid: ['src/main/**', 'electron', 'node:*'],
    message: 'The renderer talks only to window.sureflash: no main, no electron, no Node.',
  },
  {
    files: ['src/shared/**'],
    allow: ['src/shared/**'],
    message: 'src/shared is pure TypeScript: it imports nothing but itself.',
  },
];

/**
 * Everything the privileged helper (src/main/privilege/helper-entry.ts) and the files it reaches may import.
 * It runs as root, so it holds only what it serves: block I/O on one pinned device. No decoders, no bmap
 * parser, no child_process, no worker, no drivelist, no engine beyond the device executor and its wire.
 */
const HELPER_ALLOWED = [
  // the helper: its entry, the rendezvous check, the one device it serves
  'src/main/privilege/helper-entry.ts',
  'src/main/privilege/helper-rendezvous.ts',
  'src/main/privilege/helper-device.ts',
  // the engine's device I/O: the executor, its op types, the wire, the pin's schema, the error type
  'src/main/engine/device/device-executor.ts',
  'src/main/engine/device/device-protocol.ts',
  'src/main/engine/device/device-wire.ts',
  'src/main/engine/device/device-pin.ts',
  'src/main/engine/errors.ts',
  // sysfs facts and the mount check; the error codes
  'src/main/system/block-device.ts',
  'src/main/system/where-mounted.ts',
  'src/main/system/mountinfo.ts',
  'src/main/system/swaps.ts',
  // the native module's loader: the helper uses only its descriptor hand-over (sendFd)
  'src/main/system/native-io.ts',
  'src/shared/errors.ts',
  // files, the socket, the page-aligned memory's Buffer view; zod for the open request's schema
  'node:fs',
  'node:net',
  'node:path',
  'node:buffer',
  'zod',
];

export default tseslint.config(
  { ignores: ['dist/**', 'release/**', 'node_modules/**', 'test-artifacts/**', 'bench-work/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    plugins: { house },
    rules: {
      'house/layers': ['error', { zones: LAYERS }],
      'house/no-cycle': 'error',
      'house/helper-imports': [
        'error',
        {
          entry: 'src/main/privilege/helper-entry.ts',
          allow: HELPER_ALLOWED,
          message: 'The privileged helper runs as root and imports only what it serves (docs/architecture.md, "The privilege seam").',
        },
      ],
    },
  },
  {
    files: ['src/shared/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          pattern(nodeBuiltins, 'src/shared is pure TypeScript: no Node built-ins.'),
          pattern(['electron', 'react', 'react-dom', 'zustand'], 'src/shared is pure TypeScript: no electron, no DOM libraries.'),
          pattern(['**/main/**', '**/renderer/**'], 'src/shared imports nothing from the towers.'),
        ],
      }],
      'no-restricted-globals': ['error', 'window', 'document', 'process', 'require', 'Buffer'],
    },
  },
  {
    files: ['src/renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          pattern(nodeBuiltins, 'The renderer has no Node.'),
          pattern(['electron'], 'The renderer talks only to window.sureflash.'),
          pattern(['**/main/**'], 'The renderer never imports main.'),
        ],
      }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
