// Lint enforces the layering of ARCHITECTURE.md: src/shared is pure; the engine never imports electron;
// main and renderer never import each other.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'crypto', 'stream', 'net', 'http', 'zlib'];
const pattern = (group, message) => ({ group, message });

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
    files: ['src/main/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [pattern(['**/renderer/**'], 'main never imports the renderer.')] }],
    },
  },
  {
    files: ['src/main/engine/**', 'src/main/cli/**', 'src/main/privilege/**', 'src/main/host/**', 'src/main/drives/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          pattern(['electron'], 'Only src/main/app may import electron.'),
          pattern(['**/renderer/**'], 'main never imports the renderer.'),
          pattern(['**/app/**'], 'services never import the Electron shell.'),
        ],
      }],
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
