// A throwaway PKI made with openssl for TLS tests: a CA, a server certificate for 127.0.0.1 (and
// localhost), and a client certificate, all PEM files in `dir`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCerts {
  dir: string;
  ca: string;
  caKey: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
}

export function makeCerts(dir = mkdtempSync(join(tmpdir(), "skystream-certs-"))): TestCerts {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=skystream-test-ca");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const [name, cn, ext] of [
    ["server", "127.0.0.1", ["-extfile", "san.ext"]],
    ["client", "skystream-client", []],
  ] as const) {
    // PKCS#8 keys: what Kafka's PEM key stores read.
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1", ...ext);
  }
  const f = (n: string) => join(dir, n);
  return {
    dir,
    ca: f("ca.crt"),
    caKey: f("ca.key"),
    server: { cert: f("server.crt"), key: f("server.key") },
    client: { cert: f("client.crt"), key: f("client.key") },
  };
}
