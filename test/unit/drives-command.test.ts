import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DriveInfo } from '../../src/shared/api';
import { runDrivesCommand } from '../../src/main/cli/drives-command';
import { toDriveInfo, type DrivelistRecord } from '../../src/main/drives/drivelist-map';

const laptop = (JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'drivelist', 'linux-laptop.json'), 'utf8'),
) as DrivelistRecord[]).map(toDriveInfo);

async function run(argv: string[], list: (o: { allowLoop: boolean }) => Promise<DriveInfo[]> = async () => laptop) {
  let stdout = '';
  let stderr = '';
  const seen: { allowLoop: boolean }[] = [];
  const code = await runDrivesCommand(
    argv,
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    {
      listDrives: (o) => {
        seen.push(o);
        return list(o);
      },
    },
  );
  return { code, stdout, stderr, seen };
}

describe('sureflash drives', () => {
  it('prints a table without system drives and says how many are hidden', async () => {
    const { code, stdout, seen } = await run([]);
    expect(code).toBe(0);
    expect(seen).toEqual([{ allowLoop: false }]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DEVICE\s+SIZE\s+DESCRIPTION\s+STATUS\s+NOTES$/);
    expect(stdout).not.toContain('/dev/nvme0n1');
    expect(lines.find((l) => l.startsWith('/dev/sdc'))).toMatch(/3\.9 GB\s+Generic Flash Disk\s+ok/);
    expect(lines.find((l) => l.startsWith('/dev/sdb'))).toMatch(/warning .*Unusually large/);
    expect(lines.find((l) => l.startsWith('/dev/mmcblk1'))).toMatch(/disabled .*Read-only/);
    expect(lines.at(-1)).toBe('1 system drive hidden; use --all to show it.');
  });

  it('--all shows the system drive with its warnings', async () => {
    const { stdout } = await run(['--all']);
    expect(stdout).toMatch(/\/dev\/nvme0n1 .*warning .*System drive/);
    expect(stdout).not.toContain('hidden');
  });

  it('--json prints every shown drive with its verdict; --allow-loop is passed on', async () => {
    const { code, stdout, seen } = await run(['--json', '--allow-loop']);
    expect(code).toBe(0);
    expect(seen).toEqual([{ allowLoop: true }]);
    const parsed = JSON.parse(stdout) as (DriveInfo & { verdict: { status: string; reasons: { code: string }[] } })[];
    expect(parsed.map((d) => d.device).sort()).toEqual(['/dev/mmcblk0', '/dev/mmcblk1', '/dev/sdb', '/dev/sdc']);
    const sdb = parsed.find((d) => d.device === '/dev/sdb');
    expect(sdb).toMatchObject({ size: 256_060_514_304, isUSB: true, verdict: { status: 'warning', reasons: [{ code: 'LARGE' }] } });
  });

  it('says so when there is nothing to show', async () => {
    const { stdout } = await run([], async () => []);
    expect(stdout).toBe('No drives found. Insert a card or USB drive.\n');
  });

  it('exits 2 with the usage on an unknown option, 0 on --help', async () => {
    const bad = await run(['--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unknown option for drives: --bogus');
    expect(bad.stderr).toContain('Usage: sureflash drives');
    expect(bad.seen).toEqual([]);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--allow-loop');
  });

  it('exits 1 with the reason when enumeration fails', async () => {
    const { code, stderr } = await run([], async () => {
      throw new Error('lsblk: not found');
    });
    expect(code).toBe(1);
    expect(stderr).toBe('Could not list drives: lsblk: not found\n');
  });
});
