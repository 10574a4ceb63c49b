/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The functions of libvirt the command line calls (add, remove, list), loaded on demand (see
 * dl.h). Never by the hook: libvirt waits for the hook, so calling it from there would deadlock,
 * and linking it would cost every hook run 12 ms and more of loading glib, gnutls and the rest
 * (README, "What was tried against it"). */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "dl.h"

VP_DL_SYM_DECLARE(virConnectOpen);
VP_DL_SYM_DECLARE(virConnectClose);
VP_DL_SYM_DECLARE(virConnectListAllDomains);
VP_DL_SYM_DECLARE(virDomainLookupByName);
VP_DL_SYM_DECLARE(virDomainLookupByUUIDString);
VP_DL_SYM_DECLARE(virDomainFree);
VP_DL_SYM_DECLARE(virDomainGetXMLDesc);
VP_DL_SYM_DECLARE(virDomainSetMetadata);
VP_DL_SYM_DECLARE(virDomainIsActive);
VP_DL_SYM_DECLARE(virDomainIsPersistent);
VP_DL_SYM_DECLARE(virGetLastErrorMessage);
VP_DL_SYM_DECLARE(virSetErrorFunc);

extern struct vp_dl_lib vp_dl_libvirt;

/* libvirt loaded, every sym_ above set: 0, or -ELIBACC (logged once). */
int vp_dl_virt(void);
