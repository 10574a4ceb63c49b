/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt, loaded on demand by the commands that talk to it (see dl.h, dl-virt.h). */
#include "dl-virt.h"

VP_DL_SYM_DEFINE(virConnectOpen);
VP_DL_SYM_DEFINE(virConnectClose);
VP_DL_SYM_DEFINE(virConnectListAllDomains);
VP_DL_SYM_DEFINE(virDomainLookupByName);
VP_DL_SYM_DEFINE(virDomainLookupByUUIDString);
VP_DL_SYM_DEFINE(virDomainFree);
VP_DL_SYM_DEFINE(virDomainGetXMLDesc);
VP_DL_SYM_DEFINE(virDomainSetMetadata);
VP_DL_SYM_DEFINE(virDomainIsActive);
VP_DL_SYM_DEFINE(virDomainIsPersistent);
VP_DL_SYM_DEFINE(virGetLastErrorMessage);
VP_DL_SYM_DEFINE(virSetErrorFunc);

static const struct vp_dl_sym syms[] = {
	VP_DL_SYM(virConnectOpen),
	VP_DL_SYM(virConnectClose),
	VP_DL_SYM(virConnectListAllDomains),
	VP_DL_SYM(virDomainLookupByName),
	VP_DL_SYM(virDomainLookupByUUIDString),
	VP_DL_SYM(virDomainFree),
	VP_DL_SYM(virDomainGetXMLDesc),
	VP_DL_SYM(virDomainSetMetadata),
	VP_DL_SYM(virDomainIsActive),
	VP_DL_SYM(virDomainIsPersistent),
	VP_DL_SYM(virGetLastErrorMessage),
	VP_DL_SYM(virSetErrorFunc),
};

struct vp_dl_lib vp_dl_libvirt = VP_DL_LIB(VP_SONAME_VIRT, "add, remove and list", syms);

VP_DL_NOTE(libvirt,
	"[{\"feature\":\"libvirt\",\"description\":\"the add, remove and list commands, which "
	"keep forwards in the domain's metadata\",\"priority\":\"required\",\"soname\":[\""
	VP_SONAME_VIRT "\"]}]");

int vp_dl_virt(void)
{
	return vp_dl_open(&vp_dl_libvirt);
}
