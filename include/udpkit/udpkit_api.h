/* udpkit_api.h - how the public headers mark what libudpkit.so exports.
 *
 * The shared library is compiled with -fvisibility=hidden, so every
 * function that several of the library's own files share (rel_malloc,
 * udp_sock_sys_send_batch, ...) stays inside it.  A function or object is
 * exported only when its declaration in a public header (include/udpkit/)
 * carries UDPKIT_API: the definition in the .c file inherits the
 * visibility of that declaration.  A function added to a public header
 * without UDPKIT_API is missing from the .so, and tests/e2e/install.sh
 * says so.
 *
 * For a program that includes the headers the attribute is harmless, and
 * for the static libudpkit.a it changes nothing. */
#ifndef UDPKIT_API_H
#define UDPKIT_API_H

#if defined(__GNUC__) || defined(__clang__)
#define UDPKIT_API __attribute__((visibility("default")))
#else
#define UDPKIT_API
#endif

#endif
