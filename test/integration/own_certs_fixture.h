// A ProxyTest whose tests set TLS up leg by leg themselves (tls_test,
// tls_alert_test): one test CA and set of certificates per test suite,
// generated with the openssl CLI (support/test_certs.h), and the suite-wide
// TLS mode of proxy_fixture.h turned off.
#pragma once

#include <string>

#include "proxy_fixture.h"
#include "support/test_certs.h"

namespace grpcscope::testsupport {

class OwnCertsProxyTest : public ProxyTest {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TestCerts();
    std::string error;
    if (!certs_->generate(&error)) {
      cert_error_ = error;
      delete certs_;
      certs_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    suite_tls_ = false;  // each test chooses TLS on each leg itself
    ASSERT_NE(certs_, nullptr) << "certificate generation failed: " << cert_error_;
  }

  static const TestCerts& certs() { return *certs_; }

 private:
  static inline TestCerts* certs_ = nullptr;
  static inline std::string cert_error_;
};

}  // namespace grpcscope::testsupport
