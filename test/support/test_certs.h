// Certificates for the TLS tests, generated at test time with the `openssl`
// CLI in a fresh temp dir (nothing checked in, nothing that expires in the
// repository). EC P-256 keys; every certificate valid for 30 days unless
// noted.
//
//   ca            CN=test-ca, self-signed
//   server        CN=localhost, SAN DNS:localhost IP:127.0.0.1, signed by ca
//   client        CN=test-client, extendedKeyUsage clientAuth, signed by ca
//   other_ca      CN=other-ca, self-signed, unrelated to ca
//   expired       like server, but notAfter is a day in the past
//   wrong_host    CN=wrong.example, SAN DNS:wrong.example IP:127.0.0.2, signed by ca
#pragma once

#include <string>

namespace grpcscope::testsupport {

// The `openssl` CLI: the first one on $PATH, else /usr/bin/openssl (child
// processes are started with execve, which does not search $PATH).
std::string opensslBinary();

struct CertFiles {
  std::string cert;  // PEM certificate path
  std::string key;   // PEM private key path
  std::string certPem() const;
  std::string keyPem() const;
};

struct TestCerts {
  std::string dir;
  CertFiles ca;
  CertFiles server;
  CertFiles client;
  CertFiles other_ca;
  CertFiles expired;
  CertFiles wrong_host;

  // Generates everything in a fresh temp dir; false with `error` (the failing
  // openssl command and its stderr) when something went wrong.
  bool generate(std::string* error);
};

}  // namespace grpcscope::testsupport
