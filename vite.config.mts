// The renderer bundle: src/renderer -> dist/renderer, relative asset paths (served by the Electron shell
// and by the browser host alike), no inline scripts so the page's CSP can forbid them. The CSP meta tag is
// written from src/shared/content-security-policy.ts, the one place the policy lives.
import { defineConfig, type Plugin } from 'vite';
import { fileURLToPath } from 'node:url';
import { META_CONTENT_SECURITY_POLICY } from './src/shared/content-security-policy';

const CSP_PLACEHOLDER = '%SUREFLASH_CSP%';
const cspMetaTag: Plugin = {
  name: 'sureflash-csp-meta',
  transformIndexHtml(html) {
    if (!html.includes(CSP_PLACEHOLDER)) throw new Error(`index.html must carry the CSP meta tag with content="${CSP_PLACEHOLDER}"`);
    return html.replace(CSP_PLACEHOLDER, META_CONTENT_SECURITY_POLICY);
  },
};

const root = fileURLToPath(new URL('./src/renderer', import.meta.url));
const outDir = fileURLToPath(new URL('./dist/renderer', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [cspMetaTag],
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir,
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
    target: 'chrome130',
  },
});
