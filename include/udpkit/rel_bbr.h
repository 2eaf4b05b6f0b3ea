/* rel_bbr.h - rel_cc_bbr, a BBR-style congestion controller with pacing
 * for the reliable core (rel_config.cc = &rel_cc_bbr).  It keeps a link
 * full under random loss and backs off when a bottleneck queue fills;
 * see rel_bbr.c for the model. */
#ifndef REL_BBR_H
#define REL_BBR_H

#include "rel.h"
#include "udpkit_api.h"

#ifdef __cplusplus
extern "C" {
#endif

extern UDPKIT_API const struct rel_cc_ops rel_cc_bbr;

#ifdef __cplusplus
}
#endif

#endif
