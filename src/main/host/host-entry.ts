/**
 * Entry of the browser host bundle (dist/main/host.cjs): `npm run web -- [--port N] [--allow-loop]
 * [--allow-real-drives] [--pick PATH] [--save-dir DIR] [--user-data-dir DIR] [--test]`. Real main
 * services, no Electron.
 */
import { createMainServices } from '../services/main-services';
import { main } from './run-host';

main(process.argv.slice(2), (options) =>
  createMainServices({
    ...options,
    log: (level, message) => void process.stderr.write(`sureflash host: ${level}: ${message}\n`),
  }),
);
