/* tool_netsim.h - --netsim / --netsim-in for the tools (tool_netsim.c). */
#ifndef TOOL_NETSIM_H
#define TOOL_NETSIM_H

#include <stdint.h>

#include "udp_sock.h"

struct netsim;

enum { TOOL_NETSIM_OUT = 0, TOOL_NETSIM_IN = 1 };

/* From the option parser: checks the spec now (a bad one is a usage error
 * naming the option, the word and the reason) and keeps it. */
void tool_netsim_option(int dir, const char *opt, const char *arg);
/* --netsim-schedule / --netsim-in-schedule: a timeline of specs, or
 * @FILE to read it from a file; checked now (a bad one is a usage error
 * naming the entry).  It excludes --netsim for the same direction. */
void tool_netsim_schedule_option(int dir, const char *opt, const char *arg);
/* A new model for dir from the options (timeline or spec), seeded at random
 * when it names no seed, its timeline starting at now_us; NULL when no
 * option set dir.  For a tool that drives its own models (udprelay). */
struct netsim *tool_netsim_make(int dir, uint64_t now_us);
/* The spec an option gave for dir, or NULL (for a tool that drives its
 * own models, as udprelay does). */
const char *tool_netsim_spec(int dir);
/* Before opening the socket: a bad UDPKIT_NETSIM* that no option replaces
 * is a usage error with the library's words. */
void tool_netsim_env_check(void);
/* After opening it: the options' models replace the environment's, and
 * --pcap's capture starts. */
void tool_netsim_apply(struct udp_sock *s);
/* Sends what is due; seconds until the next held datagram is due, or -1. */
double tool_netsim_due_in(struct udp_sock *s);
/* Before exit: waits for the delayed outgoing datagrams and sends them. */
void tool_netsim_finish(struct udp_sock *s);
/* --stats: one line per direction with a model, counters and seed. */
void tool_netsim_stats(struct udp_sock *s);

#endif
