/**
 * The signaling server's certificate: read from its files (`--cert`, `--key`), checked before it serves
 * (readable, PEM, the key matching the certificate, its validity dates) and read again on SIGHUP, so that a
 * renewed certificate (certbot, an internal CA) is served to new connections without dropping the calls in
 * progress. Reading is the only I/O; the checks are of node:crypto's parse.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { TlsError } from '../errors.js';

/** Where a server's certificate and key are. */
export interface TlsFiles {
  /** PEM certificate, then any intermediate certificates (the full chain). */
  certFile: string;
  /** PEM private key of the certificate (unencrypted). */
  keyFile: string;
}

/** A certificate and key, read and checked. */
export interface LoadedTls {
  cert: Buffer;
  key: Buffer;
  /** The leaf certificate's subject, e.g. `CN=camera.lan`. */
  subject: string;
  /** The names it is valid for (`DNS:camera.lan, IP Address:192.168.1.20`), or its subject when none. */
  names: string;
  /** End of validity. */
  validTo: Date;
  /** Things the operator should know (expired, not yet valid, expiring soon). */
  warnings: string[];
}

/** A certificate that expires sooner than this is reported, ms (14 days). */
const EXPIRY_WARNING_MS = 14 * 24 * 3600 * 1000;

function read(path: string, what: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new TlsError(
      'TLS_FILE_UNREADABLE',
      `cannot read the ${what} ${path} (${code}); check the path given to ${flag}`,
      path,
      { cause: error },
    );
  }
}

/**
 * Reads and checks a certificate and its key. Throws {@link TlsError} saying which file is wrong and how.
 * An expired or not-yet-valid certificate is not refused (the operator may be about to renew it) but
 * reported in `warnings`, as clients will refuse it.
 *
 * @example
 * const tls = loadTls({ certFile: 'cert.pem', keyFile: 'key.pem' });
 * https.createServer({ cert: tls.cert, key: tls.key });
 */
export function loadTls(files: TlsFiles, now = new Date()): LoadedTls {
  const cert = read(files.certFile, 'certificate', '--cert');
  const key = read(files.keyFile, 'private key', '--key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new TlsError(
      'TLS_BAD_CERT',
      `${files.certFile} is not a PEM certificate (${(error as Error).message}); --cert takes the ` +
        'certificate (-----BEGIN CERTIFICATE-----), --key its private key',
      files.certFile,
      { cause: error },
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsError(
      'TLS_BAD_KEY',
      `${files.keyFile} is not an unencrypted PEM private key (${(error as Error).message}); --key takes ` +
        'the key of the certificate (-----BEGIN PRIVATE KEY-----)',
      files.keyFile,
      { cause: error },
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new TlsError(
      'TLS_KEY_MISMATCH',
      `the private key ${files.keyFile} is not the key of the certificate ${files.certFile}; give the key ` +
        'the certificate was made for',
      files.keyFile,
    );
  }
  const subject = x509.subject.replace(/\n/g, ', ');
  const names = x509.subjectAltName ?? subject;
  const validTo = new Date(x509.validTo);
  const validFrom = new Date(x509.validFrom);
  const warnings: string[] = [];
  if (validTo.getTime() <= now.getTime()) {
    warnings.push(
      `the certificate ${files.certFile} (${names}) expired on ${validTo.toISOString()}: clients and ` +
        'browsers will refuse it; renew it, then send SIGHUP to reload it',
    );
  } else if (validFrom.getTime() > now.getTime()) {
    warnings.push(
      `the certificate ${files.certFile} (${names}) is not valid before ${validFrom.toISOString()}: ` +
        "clients will refuse it until then; check this machine's clock",
    );
  } else if (validTo.getTime() - now.getTime() < EXPIRY_WARNING_MS) {
    warnings.push(
      `the certificate ${files.certFile} (${names}) expires on ${validTo.toISOString()}; renew it, then ` +
        'send SIGHUP to reload it',
    );
  }
  return { cert, key, subject, names, validTo, warnings };
}
