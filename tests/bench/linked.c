/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An empty program linked as the hook is (libxml2 and json-c, and what they pull in: ICU,
 * libstdc++): what every run of the hook pays before its main, which bench-libvirt.sh measures
 * next to /bin/true and the hook for a guest without forwards. */
#include <json-c/json.h>
#include <libxml/parser.h>

int main(int argc, char **argv)
{
	(void)argv;
	/* Never taken when the bench runs it: the calls keep both libraries needed. */
	if (argc > 1000) {
		xmlCheckVersion(LIBXML_VERSION);
		return json_c_version_num() == 0;
	}
	return 0;
}
