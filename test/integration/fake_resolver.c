// LD_PRELOAD shim for the upstream address tests: getaddrinfo() answers the
// names listed in GRPCSCOPE_TEST_RESOLVE with the given addresses, in the
// given order, as /etc/hosts would if it listed them:
//   GRPCSCOPE_TEST_RESOLVE="localhost=::1,127.0.0.1"
// Only the proxy under test gets it. It exists because this machine's
// /etc/hosts lists 127.0.0.1 only for localhost (no "::1 localhost" line),
// so the common dual-stack case (IPv6 first, server on IPv4 only) cannot be
// built from the real resolver, and tests must not edit /etc/hosts.
// Each address is resolved by the real getaddrinfo (AI_NUMERICHOST) and the
// results chained, so glibc's freeaddrinfo frees the list as its own.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

typedef int (*getaddrinfo_fn)(const char*, const char*, const struct addrinfo*, struct addrinfo**);

static getaddrinfo_fn realGetaddrinfo(void) {
  static getaddrinfo_fn real = NULL;
  if (real == NULL) real = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
  return real;
}

// The address list for `node` in the spec ("name=a,b;name2=c"), copied into
// `out`; 0 when the name is not listed.
static int lookup(const char* spec, const char* node, char* out, size_t out_size) {
  size_t node_len = strlen(node);
  const char* p = spec;
  while (*p != '\0') {
    const char* end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    const char* eq = memchr(p, '=', len);
    if (eq != NULL && (size_t)(eq - p) == node_len && strncasecmp(p, node, node_len) == 0) {
      size_t n = len - (size_t)(eq + 1 - p);
      if (n >= out_size) n = out_size - 1;
      memcpy(out, eq + 1, n);
      out[n] = '\0';
      return 1;
    }
    if (end == NULL) break;
    p = end + 1;
  }
  return 0;
}

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
  getaddrinfo_fn real = realGetaddrinfo();
  const char* spec = getenv("GRPCSCOPE_TEST_RESOLVE");
  char list[512];
  if (node == NULL || spec == NULL || !lookup(spec, node, list, sizeof list)) {
    return real(node, service, hints, res);
  }
  struct addrinfo h;
  memset(&h, 0, sizeof h);
  if (hints != NULL) h = *hints;
  h.ai_flags = (h.ai_flags & ~AI_CANONNAME) | AI_NUMERICHOST;
  struct addrinfo* head = NULL;
  struct addrinfo** tail = &head;
  char* save = NULL;
  for (char* addr = strtok_r(list, ",", &save); addr != NULL; addr = strtok_r(NULL, ",", &save)) {
    struct addrinfo* one = NULL;
    if (real(addr, service, &h, &one) != 0 || one == NULL) continue;  // e.g. an IPv6 address with AF_INET hints
    *tail = one;
    while (*tail != NULL) tail = &(*tail)->ai_next;
  }
  if (head == NULL) return EAI_NONAME;
  *res = head;
  return 0;
}
