/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The functions of libxml2 we call, loading it on first use (see dl.h). xml.c creates every
 * parser context and document: xmlNewParserCtxt is the one entry point. */
#include <errno.h>
#include <stddef.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "dl.h"

#define L VP_DL_XML
#define NO VP_DL_UNREACHABLE

VP_DL_FN(L, VP_DL_FAIL(NULL), xmlParserCtxtPtr, xmlNewParserCtxt, (void), ())
VP_DL_VOID(L, xmlInitParser, (void), ())
VP_DL_VOID(L, xmlCleanupParser, (void), ())
VP_DL_FN(L, NO, xmlDocPtr, xmlCtxtReadMemory, (xmlParserCtxtPtr ctxt, const char *buffer,
         int size, const char *URL, const char *encoding, int options),
         (ctxt, buffer, size, URL, encoding, options))
VP_DL_VOID(L, xmlFreeParserCtxt, (xmlParserCtxtPtr ctxt), (ctxt))
VP_DL_VOID(L, xmlStopParser, (xmlParserCtxtPtr ctxt), (ctxt))
VP_DL_VOID(L, xmlFreeDoc, (xmlDocPtr cur), (cur))
VP_DL_VOID(L, xmlSAX2StartElementNs, (void *ctx, const xmlChar *localname,
           const xmlChar *prefix, const xmlChar *URI, int nb_namespaces,
           const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
           const xmlChar **attributes),
           (ctx, localname, prefix, URI, nb_namespaces, namespaces, nb_attributes,
            nb_defaulted, attributes))
VP_DL_FN(L, NO, xmlNodePtr, xmlDocGetRootElement, (const xmlDoc *doc), (doc))
VP_DL_FN(L, NO, xmlNodePtr, xmlFirstElementChild, (xmlNodePtr parent), (parent))
VP_DL_FN(L, NO, xmlNodePtr, xmlNextElementSibling, (xmlNodePtr node), (node))
VP_DL_FN(L, NO, xmlAttrPtr, xmlHasNsProp, (const xmlNode *node, const xmlChar *name,
         const xmlChar *nameSpace), (node, name, nameSpace))
VP_DL_FN(L, NO, xmlChar *, xmlNodeGetContent, (const xmlNode *cur), (cur))
VP_DL_FN(L, NO, int, xmlStrEqual, (const xmlChar *str1, const xmlChar *str2), (str1, str2))

#ifdef xmlFree
#error "this libxml2 makes xmlFree a per-thread macro: wrap __xmlFree instead"
#endif
/* libxml2's xmlFree is a variable holding its deallocator: ours calls whatever it holds. */
static void free_via_libxml(void *p)
{
	static xmlFreeFunc *real;
	static unsigned gen;

	if (!real || gen != vp_dl_generation[L]) {
		real = (xmlFreeFunc *)vp_dl_sym(L, "xmlFree");
		gen = vp_dl_generation[L];
	}
	if (!real)
		NO;
	(*real)(p);
}
xmlFreeFunc xmlFree = free_via_libxml;
