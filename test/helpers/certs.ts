/**
 * Certificates made by a real `openssl` at test time, in a temp dir of their own: a test CA, and server
 * certificates it signs (valid, or expired) for `localhost` and `127.0.0.1`. A client trusts them with the
 * CA's file (`--ca`, NODE_EXTRA_CA_CERTS), as a lab with its own CA does.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemCommand } from '../system/find-command.js';

/** A server certificate and its key, as files. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** A test CA in its own directory; {@link TestCa.remove} deletes it. */
export interface TestCa {
  /** The CA's certificate: what clients trust. */
  caFile: string;
  dir: string;
  /** A server certificate for `names` (default localhost and 127.0.0.1), valid `days` (negative: expired). */
  issue(name: string, options?: { days?: number; names?: string }): CertFiles;
  remove(): void;
  /**
   * A HOME directory whose NSS database (`.pki/nssdb`, where Chromium on Linux looks) trusts this CA for
   * servers: a browser started with it trusts the certificates the CA issues, as a user's would after
   * importing the CA. Made with `certutil`.
   */
  browserHome(): string;
}

function openssl(args: string[], cwd: string): void {
  // stdin ignored, stdout and stderr collected: a failure throws with openssl's own words.
  execFileSync(systemCommand('openssl'), args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes a CA (valid 2 days) with openssl. */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-tls-'));
  openssl(
    [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=rtc-peer test CA',
    ],
    dir,
  );
  return {
    caFile: path.join(dir, 'ca.pem'),
    dir,
    issue(name, options = {}) {
      const names = options.names ?? 'DNS:localhost,IP:127.0.0.1';
      writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${names}\n`);
      openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost'], dir);
      // `-days -1` makes notAfter a day before notBefore: a certificate that has expired.
      openssl(
        ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat(
          ['-days', String(options.days ?? 1), '-extfile', `${name}.ext`, '-out', `${name}.pem`],
        ),
        dir,
      );
      return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
    },
    browserHome() {
      const home = path.join(dir, 'home');
      const db = path.join(home, '.pki', 'nssdb');
      mkdirSync(db, { recursive: true });
      const certutil = systemCommand('certutil');
      execFileSync(certutil, ['-d', `sql:${db}`, '-N', '--empty-password'], { stdio: 'pipe' });
      execFileSync(
        certutil,
        ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'rtc-peer test CA', '-i', 'ca.pem'],
        {
          cwd: dir,
          stdio: 'pipe',
        },
      );
      return home;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
