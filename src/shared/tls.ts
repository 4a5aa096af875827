// A private CA and a server certificate for nats-server, made with the `openssl` command (Node can
// make keys but not certificates; openssl is on every Linux and macOS server, and no npm package
// is needed). `baton tls init` and `baton up --tls` use it; operators can bring their own files
// instead (docs/security.md).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export class TlsError extends Error {
  override name = 'TlsError';
}

export type TlsFiles = {
  /** The CA certificate clients verify the server with (give this to agents). */
  caFile: string;
  /** The CA key; keep it off the server if you can (only needed to issue certificates). */
  caKeyFile: string;
  certFile: string;
  keyFile: string;
};

export const tlsFiles = (dir: string): TlsFiles => ({
  caFile: join(dir, 'ca.pem'),
  caKeyFile: join(dir, 'ca.key'),
  certFile: join(dir, 'server.pem'),
  keyFile: join(dir, 'server.key'),
});

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new TlsError(
        '`openssl` is not installed; install it (apt-get install openssl) or bring your own certificates',
        { cause: err },
      );
    }
    throw new TlsError(`openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/**
 * Makes `dir/ca.pem`, `ca.key`, `server.pem` and `server.key` unless they exist: an ECDSA P-256 CA
 * (10 years) and a server certificate (825 days) for `hosts` (DNS names or IP addresses). Keys are
 * 0600. Returns the file paths.
 */
export async function ensureTlsFiles(
  dir: string,
  hosts: readonly string[] = ['localhost', '127.0.0.1', '::1'],
): Promise<TlsFiles> {
  const f = tlsFiles(dir);
  if (existsSync(f.caFile) && existsSync(f.certFile) && existsSync(f.keyFile)) return f;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req', '-x509', ...ec, '-keyout', f.caKeyFile, '-out', f.caFile, '-days', '3650',
    '-subj', '/CN=baton local CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  await writeFile(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${san}`,
      '',
    ].join('\n'),
  );
  await openssl(['req', ...ec, '-keyout', f.keyFile, '-out', csr, '-subj', '/CN=baton nats-server']);
  await openssl([
    'x509', '-req', '-in', csr, '-CA', f.caFile, '-CAkey', f.caKeyFile, '-CAcreateserial',
    '-out', f.certFile, '-days', '825', '-extfile', ext,
  ]); // prettier-ignore
  await rm(csr, { force: true });
  await rm(ext, { force: true });
  await rm(join(dir, 'ca.srl'), { force: true });
  await chmod(f.caKeyFile, 0o600);
  await chmod(f.keyFile, 0o600);
  return f;
}

/** The server config block that turns TLS on for client connections. */
export function tlsServerConfig(f: Pick<TlsFiles, 'certFile' | 'keyFile'>): string {
  return [
    'tls {',
    `  cert_file: ${JSON.stringify(f.certFile)}`,
    `  key_file: ${JSON.stringify(f.keyFile)}`,
    '  timeout: 2',
    '}',
    '',
  ].join('\n');
}
