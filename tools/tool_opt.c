/* tool_opt.c - the handler of the options every networking tool shares
 * (TOOL_COMMON_CASES).  Apart from tool_util.c so that a tool with only
 * --help and --version (udpkey) does not link the loss simulator. */
#include "tool_common.h"
#include "tool_netsim.h"
#include "tool_pcap.h"

int tool_no_offload;

void tool_offload_apply(struct udp_sock *s)
{
	if (!tool_no_offload)
		return;
	/* both only ever turn a feature off here, which cannot fail on a
	 * valid socket: without them the kernel never had it anyway */
	(void)udp_sock_set_gso(s, 0);
	(void)udp_sock_set_gro(s, 0);
}

void tool_common_option(int c, const char *arg, int *stats)
{
	switch (c) {
	case TOOL_O_STATS: *stats = 1; break;
	case TOOL_O_NETSIM: tool_netsim_option(TOOL_NETSIM_OUT, "--netsim", arg); break;
	case TOOL_O_NETSIM_IN: tool_netsim_option(TOOL_NETSIM_IN, "--netsim-in", arg); break;
	case TOOL_O_NETSIM_SCHED:
		tool_netsim_schedule_option(TOOL_NETSIM_OUT, "--netsim-schedule", arg);
		break;
	case TOOL_O_NETSIM_IN_SCHED:
		tool_netsim_schedule_option(TOOL_NETSIM_IN, "--netsim-in-schedule", arg);
		break;
	case TOOL_O_PCAP: tool_pcap_option(arg); break;
	case TOOL_O_NO_OFFLOAD: tool_no_offload = 1; break;
	default: tool_base_option(c); break;
	}
}
