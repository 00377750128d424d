/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl for the TLS test. */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const makeTestCertificates = () => {
  const dir = mkdtempSync(join(tmpdir(), "cache-tls-"))
  const path = (name: string) => join(dir, name)
  const openssl = (...args: Array<string>) => execFileSync("openssl", args, { stdio: "pipe" })
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    path("ca.key"),
    "-out",
    path("ca.crt"),
    "-days",
    "1",
    "-subj",
    "/CN=cache test CA",
  )
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    path("server.key"),
    "-out",
    path("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  )
  writeFileSync(path("ext.cnf"), "subjectAltName=IP:127.0.0.1\n")
  openssl(
    "x509",
    "-req",
    "-in",
    path("server.csr"),
    "-CA",
    path("ca.crt"),
    "-CAkey",
    path("ca.key"),
    "-CAcreateserial",
    "-out",
    path("server.crt"),
    "-days",
    "1",
    "-extfile",
    path("ext.cnf"),
  )
  return {
    ca: readFileSync(path("ca.crt")),
    caFile: path("ca.crt"),
    certFile: path("server.crt"),
    keyFile: path("server.key"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}
