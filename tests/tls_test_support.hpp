// TLS helpers for the test suites: an in-memory self-signed certificate (OpenSSL), a server
// context presenting it, and a temporary PEM file (the CA file of a client under test).
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace iomt::test {

struct pem_pair {
  std::string cert;
  std::string key;
};

// A self-signed EC P-256 certificate, valid from an hour ago for a day, with subject CN
// `common_name` and the given subjectAltName (e.g. "DNS:localhost" or "DNS:other.example").
// Throws std::runtime_error when OpenSSL fails.
inline pem_pair make_self_signed(const std::string& san = "DNS:localhost,IP:127.0.0.1",
                                 const std::string& common_name = "localhost") {
  auto fail = [](const char* what) { return std::runtime_error(std::string("OpenSSL: ") + what); };
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", const_cast<char*>("P-256"));
  if (!key) throw fail("keygen");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  if (!ext) throw fail("subjectAltName");
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  if (!X509_sign(x, key, EVP_sha256())) throw fail("sign");
  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long n = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  };
  pem_pair out;
  out.cert = to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
  out.key = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// A TLS server context presenting `pem`.
inline std::shared_ptr<boost::asio::ssl::context> server_tls(const pem_pair& pem) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  ctx->use_certificate_chain(boost::asio::buffer(pem.cert));
  ctx->use_private_key(boost::asio::buffer(pem.key), boost::asio::ssl::context::pem);
  return ctx;
}

// A file under /tmp holding `text`, removed again when this goes out of scope.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& text) {
    char tmpl[] = "/tmp/iomt-test-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path = tmpl;
    std::ofstream(path) << text;
  }
  ~temp_file() { std::remove(path.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
};

}  // namespace iomt::test
