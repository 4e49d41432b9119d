import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliUsageError, parseCliOptions } from './CliOptions.ts';

describe('parseCliOptions', () => {
  it('takes the server origin and options in both --x v and --x=v forms', () => {
    const o = parseCliOptions(['--url', 'https://call.example.com/some/path?q=1', '--json', '--media-seconds=7', '--token', 'abc']);
    expect(o.url.href).toBe('https://call.example.com/');
    expect(o).toMatchObject({ json: true, mediaSeconds: 7, token: 'abc', ca: null, help: false });
    expect(parseCliOptions(['--help']).help).toBe(true);
  });

  it('reads a PEM CA file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-cli-'));
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'junk.txt'), 'hello');
    expect(parseCliOptions(['--url', 'http://h', '--ca', join(dir, 'ca.pem')]).ca).toContain('BEGIN CERTIFICATE');
    expect(() => parseCliOptions(['--url', 'http://h', '--ca', join(dir, 'junk.txt')])).toThrow(/holds no PEM certificate/);
    expect(() => parseCliOptions(['--url', 'http://h', '--ca', join(dir, 'missing.pem')])).toThrow(/--ca: cannot read/);
  });

  it('refuses bad input with a typed error naming the option', () => {
    const bad: [string[], RegExp][] = [
      [[], /--url is required/],
      [['--url'], /--url needs a value/],
      [['--url', 'not a url'], /is not a URL/],
      [['--url', 'ws://h'], /must be http:\/\/ or https:\/\//],
      [['--url', 'http://u:p@h'], /must not contain credentials/],
      [['--url', 'http://h', '--media-seconds', '0'], /1 to 30/],
      [['--url', 'http://h', '--media-seconds', '2.5'], /1 to 30/],
      [['--url', 'http://h', '--token='], /must not be empty/],
      [['--url', 'http://h', '--verbose'], /unknown option --verbose/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseCliOptions(argv), argv.join(' ')).toThrow(CliUsageError);
      expect(() => parseCliOptions(argv), argv.join(' ')).toThrow(message);
    }
  });
});
