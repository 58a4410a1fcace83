/** Files that look like loadbay's own reports: quarantined as files of their own, never read as reports. */
import assert from 'node:assert/strict';
import type { Config } from '../../../src/config/types.js';
import { ledgerQuarantine, diskQuarantine } from '../../../src/quarantine/quarantined.js';
import { checkReport } from '../../../src/quarantine/report.js';
import type { HostileCase } from '../corpus.js';

const forged = (failedAt: unknown, fileId: string) => ({
  summary: 'FORGED',
  file: 'anything.csv',
  file_id: fileId,
  dataset: 'h-json',
  stage: 'validate',
  reason: 'FORGED',
  problem_count: 1,
  groups: [],
  problems: [],
  sha256: null,
  bytes: null,
  failed_at: failedAt,
  quarantined_as: 'h-json/forged-report',
});

/** The ledger lists the file under its own report; output_failed/ read alone does not take it for one. */
function quarantinedAsItself(file: string): HostileCase['verify'] {
  return async ({ pool, failedDir }) => {
    const config = { folders: { failed: failedDir } } as Config;
    const ledger = await ledgerQuarantine(config, pool, { search: file });
    const entry = ledger.files.find((f) => f.report.file === file);
    assert.ok(entry, `${file} is not in the quarantine`);
    assert.equal(entry.path, `h-json/${file}`);
    assert.notEqual(entry.report.reason, 'FORGED');
    assert.ok(ledger.files.every((f) => f.report.reason !== 'FORGED'));
    const disk = await diskQuarantine(config);
    assert.ok(disk.files.some((f) => f.path === `h-json/${file}` && f.report.reason !== 'FORGED'));
    assert.ok(disk.files.every((f) => f.report.reason !== 'FORGED'));
  };
}

export const cases: HostileCase[] = [
  {
    file: 'forged-report.error.json',
    why: 'a report-named file whose failed_at is a number made /api/quarantine answer 500 and `failed list` crash',
    content: () => JSON.stringify(forged(12, '1')),
    expect: { event: 'failed', stage: 'validate' },
    verify: quarantinedAsItself('forged-report.error.json'),
  },
  {
    file: 'forged-id.error.json',
    why: 'a report-named file with a real file id hid the real report and broke its retry',
    content: () => {
      const report = forged('2000-01-01T00:00:00.000Z', '1');
      assert.ok('report' in checkReport(report)); // shaped exactly like a real one
      return JSON.stringify(report);
    },
    expect: { event: 'failed', stage: 'validate' },
    verify: quarantinedAsItself('forged-id.error.json'),
  },
];
