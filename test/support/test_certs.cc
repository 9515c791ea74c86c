#include "support/test_certs.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <vector>

#include "support/process.h"

namespace grpcscope::testsupport {
namespace {

// A minimal openssl config of our own, so the system openssl.cnf (its default
// extensions in particular) does not shape the certificates.
constexpr const char* kConfig = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[wrong_host]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example,IP:127.0.0.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

bool run(std::vector<std::string> argv, std::string* error) {
  argv[0] = opensslBinary();
  RunResult r = runProcess(argv, std::chrono::milliseconds(30000));
  if (r.status == 0) return true;
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  *error = "`" + cmd + "` exited with " + std::to_string(r.status) + ": " + r.err + r.out;
  return false;
}

bool selfSigned(const std::string& dir, const std::string& name, const std::string& cn, CertFiles* out,
                std::string* error) {
  out->cert = dir + "/" + name + ".pem";
  out->key = dir + "/" + name + ".key";
  return run({"openssl", "req", "-x509", "-config", dir + "/openssl.cnf", "-extensions", "v3_ca", "-newkey", "ec",
              "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", out->key, "-out", out->cert, "-subj",
              "/CN=" + cn, "-days", "30"},
             error);
}

bool signedBy(const std::string& dir, const std::string& name, const std::string& cn, const std::string& section,
              const CertFiles& issuer, int days, int serial, CertFiles* out, std::string* error) {
  out->cert = dir + "/" + name + ".pem";
  out->key = dir + "/" + name + ".key";
  const std::string csr = dir + "/" + name + ".csr";
  return run({"openssl", "req", "-new", "-config", dir + "/openssl.cnf", "-newkey", "ec", "-pkeyopt",
              "ec_paramgen_curve:P-256", "-nodes", "-keyout", out->key, "-out", csr, "-subj", "/CN=" + cn},
             error) &&
         // -days -1: notAfter one day before now (OpenSSL 3.0 accepts -1 and
         // nothing lower), which is what the expired certificate needs.
         run({"openssl", "x509", "-req", "-in", csr, "-CA", issuer.cert, "-CAkey", issuer.key, "-set_serial",
              std::to_string(serial), "-days", std::to_string(days), "-extfile", dir + "/openssl.cnf",
              "-extensions", section, "-out", out->cert},
             error);
}

}  // namespace

std::string opensslBinary() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/openssl";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "/usr/bin/openssl";
}

std::string CertFiles::certPem() const { return readFile(cert); }
std::string CertFiles::keyPem() const { return readFile(key); }

bool TestCerts::generate(std::string* error) {
  dir = makeTempDir("grpcscope-certs");
  if (dir.empty() || !writeFile(dir + "/openssl.cnf", kConfig)) {
    *error = "cannot write " + dir + "/openssl.cnf";
    return false;
  }
  return selfSigned(dir, "ca", "test-ca", &ca, error) &&
         selfSigned(dir, "other-ca", "other-ca", &other_ca, error) &&
         signedBy(dir, "server", "localhost", "server", ca, 30, 1001, &server, error) &&
         signedBy(dir, "client", "test-client", "client", ca, 30, 1002, &client, error) &&
         signedBy(dir, "expired", "localhost", "server", ca, -1, 1003, &expired, error) &&
         signedBy(dir, "wrong-host", "wrong.example", "wrong_host", ca, 30, 1004, &wrong_host, error);
}

}  // namespace grpcscope::testsupport
