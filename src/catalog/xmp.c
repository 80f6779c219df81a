/*
 * xmp.c — `postkit xmp FILE...|--all`: keywords out to XMP sidecars that
 * Lightroom, darktable, digiKam and Bridge read.
 *
 * Keywords (until tagging lands) come from the folders below the indexed
 * root ("Trips/Iceland" gives the hierarchy Trips|Iceland) and from camera
 * metadata (Camera|Canon|Canon EOS R5, Lens|RF24-70mm F2.8 L IS USM). Each
 * hierarchy goes to lr:hierarchicalSubject as written and every level of it
 * to dc:subject, as Lightroom does. A postkit block records which program
 * wrote them, when, and for which content (SHA-256).
 *
 * An existing sidecar is merged, never rewritten from scratch: it is parsed
 * with libxml2, keywords missing from its bags are appended, our own block
 * is replaced, and every other element and attribute stays as it was. The
 * file is replaced atomically (temp + rename).
 */
#include "catalog/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define NS_LR "http://ns.adobe.com/lightroom/1.0/"
#define NS_X "adobe:ns:meta/"
#define NS_PK "urn:postkit:xmp:1.0/"

/* ---- keywords --------------------------------------------------------- */

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

static int strlist_has(const strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

static void strlist_add(strlist *l, const char *s)
{
    if (!s || !*s || strlist_has(l, s))
        return;
    char **g = realloc(l->v, (l->n + 1) * sizeof *g);
    if (!g)
        return;
    l->v = g;
    if ((l->v[l->n] = strdup(s)))
        l->n++;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* A hierarchy "A|B|C": itself to `hier`, and A, B, C to `flat`. The parts
 * must not contain '|' (it separates levels): it becomes '/'. */
static void add_hierarchy(strlist *hier, strlist *flat, const char *const *parts, size_t n)
{
    char buf[2048];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!parts[i] || !*parts[i])
            continue;
        char part[512];
        snprintf(part, sizeof part, "%s", parts[i]);
        for (char *p = part; *p; p++)
            if (*p == '|')
                *p = '/';
        strlist_add(flat, part);
        int w = snprintf(buf + len, sizeof buf - len, "%s%s", len ? "|" : "", part);
        if (w > 0 && (size_t)w < sizeof buf - len)
            len += (size_t)w;
    }
    if (len)
        strlist_add(hier, buf);
}

/* Facts of one file: from the catalogue, or else from probing it. */
typedef struct facts {
    char *path, *root, *sha256, *make, *model, *lens;
} facts;

static void free_facts(facts *f)
{
    free(f->path);
    free(f->root);
    free(f->sha256);
    free(f->make);
    free(f->model);
    free(f->lens);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static void keywords_of(const facts *f, strlist *hier, strlist *flat)
{
    /* Folders between the root and the file. */
    if (f->root) {
        size_t rl = strlen(f->root);
        const char *rel = strncmp(f->path, f->root, rl) == 0 ? f->path + rl : NULL;
        const char *slash = strrchr(f->path, '/');
        if (rel && slash && slash > rel) {
            char folders[PATH_MAX];
            snprintf(folders, sizeof folders, "%.*s", (int)(slash - rel), rel);
            const char *parts[64];
            size_t n = 0;
            char *save = NULL;
            for (char *p = strtok_r(folders, "/", &save); p && n < 64; p = strtok_r(NULL, "/", &save))
                parts[n++] = p;
            add_hierarchy(hier, flat, parts, n);
        }
    }
    if (f->make || f->model) {
        const char *parts[] = {"Camera", f->make, f->model};
        add_hierarchy(hier, flat, parts, 3);
    }
    if (f->lens) {
        const char *parts[] = {"Lens", f->lens};
        add_hierarchy(hier, flat, parts, 2);
    }
}

/* ---- the XML -------------------------------------------------------------- */

static int is_elem(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *find_elem(xmlNode *n, const char *ns, const char *name)
{
    for (; n; n = n->next) {
        if (is_elem(n, ns, name))
            return n;
        xmlNode *c = find_elem(n->children, ns, name);
        if (c)
            return c;
    }
    return NULL;
}

static xmlNs *ns_for(xmlNode *node, const char *href, const char *prefix)
{
    xmlNs *ns = xmlSearchNsByHref(node->doc, node, BAD_CAST href);
    return ns ? ns : xmlNewNs(node, BAD_CAST href, BAD_CAST prefix);
}

/* The rdf:Bag of property ns:name, created in `desc` when absent. */
static xmlNode *bag_of(xmlNode *rdf, xmlNode *desc, const char *ns, const char *prefix, const char *name,
                       xmlNs *rdfns)
{
    xmlNode *prop = find_elem(rdf->children, ns, name);
    if (!prop)
        prop = xmlNewChild(desc, ns_for(desc, ns, prefix), BAD_CAST name, NULL);
    for (xmlNode *c = prop->children; c; c = c->next)
        if (is_elem(c, NS_RDF, "Bag") || is_elem(c, NS_RDF, "Seq"))
            return c;
    return xmlNewChild(prop, rdfns, BAD_CAST "Bag", NULL);
}

/* Append the words not yet in the bag; returns how many were added. */
static int merge_bag(xmlNode *bag, const strlist *words, xmlNs *rdfns)
{
    strlist have = {0};
    for (xmlNode *c = bag->children; c; c = c->next)
        if (is_elem(c, NS_RDF, "li")) {
            xmlChar *t = xmlNodeGetContent(c);
            if (t)
                strlist_add(&have, (const char *)t);
            xmlFree(t);
        }
    int added = 0;
    for (size_t i = 0; i < words->n; i++)
        if (!strlist_has(&have, words->v[i])) {
            xmlNewTextChild(bag, rdfns, BAD_CAST "li", BAD_CAST words->v[i]);
            added++;
        }
    strlist_free(&have);
    return added;
}

static xmlDoc *new_sidecar(void)
{
    xmlDoc *doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *pi = xmlNewDocPI(doc, BAD_CAST "xpacket", BAD_CAST "begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"");
    xmlAddChild((xmlNode *)doc, pi);
    xmlNode *meta = xmlNewNode(NULL, BAD_CAST "xmpmeta");
    xmlSetNs(meta, xmlNewNs(meta, BAD_CAST NS_X, BAD_CAST "x"));
    xmlAddChild((xmlNode *)doc, meta);
    xmlNode *rdf = xmlNewChild(meta, NULL, BAD_CAST "RDF", NULL);
    xmlSetNs(rdf, xmlNewNs(rdf, BAD_CAST NS_RDF, BAD_CAST "rdf"));
    xmlAddChild((xmlNode *)doc, xmlNewDocPI(doc, BAD_CAST "xpacket", BAD_CAST "end=\"w\""));
    return doc;
}

/* Write or merge the sidecar of one file. *added gets the number of
 * keywords new to it. */
static pk_status write_sidecar(pk_ctx *ctx, const char *sidecar, const facts *f, const strlist *hier,
                               const strlist *flat, int *added, int *merged)
{
    struct stat sb;
    xmlDoc *doc;
    *merged = stat(sidecar, &sb) == 0;
    if (*merged) {
        doc = xmlReadFile(sidecar, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
            return pk_fail(ctx, PK_ERR_INPUT, sidecar, "existing sidecar is not well-formed XML; left alone");
    } else {
        doc = new_sidecar();
    }
    xmlNode *rdf = find_elem(xmlDocGetRootElement(doc), NS_RDF, "RDF");
    if (!rdf) {
        xmlFreeDoc(doc);
        return pk_fail(ctx, PK_ERR_INPUT, sidecar, "existing sidecar has no rdf:RDF; left alone");
    }
    xmlNs *rdfns = ns_for(rdf, NS_RDF, "rdf");
    /* Our own description: replaced as a whole at every run. */
    for (xmlNode *c = rdf->children, *next; c; c = next) {
        next = c->next;
        if (is_elem(c, NS_RDF, "Description") && find_elem(c->children, NS_PK, "Tool")) {
            /* Keep any keyword bags it holds (they are merged below). */
            xmlNode *pk;
            while ((pk = find_elem(c->children, NS_PK, "Tool")) || (pk = find_elem(c->children, NS_PK, "Date")) ||
                   (pk = find_elem(c->children, NS_PK, "Operation")) ||
                   (pk = find_elem(c->children, NS_PK, "KeywordSource")) ||
                   (pk = find_elem(c->children, NS_PK, "SourceSHA256"))) {
                xmlUnlinkNode(pk);
                xmlFreeNode(pk);
            }
        }
    }
    xmlNode *desc = xmlNewChild(rdf, rdfns, BAD_CAST "Description", NULL);
    xmlSetNsProp(desc, rdfns, BAD_CAST "about", BAD_CAST "");
    *added = merge_bag(bag_of(rdf, desc, NS_DC, "dc", "subject", rdfns), flat, rdfns);
    merge_bag(bag_of(rdf, desc, NS_LR, "lr", "hierarchicalSubject", rdfns), hier, rdfns);
    xmlNs *pk = ns_for(desc, NS_PK, "postkit");
    char tool[128], now[32];
    snprintf(tool, sizeof tool, "postkit %s (git %s)", pk_version(), pk_git_revision());
    pk_iso8601_now(now);
    xmlNewTextChild(desc, pk, BAD_CAST "Tool", BAD_CAST tool);
    xmlNewTextChild(desc, pk, BAD_CAST "Operation", BAD_CAST "xmp");
    xmlNewTextChild(desc, pk, BAD_CAST "Date", BAD_CAST now);
    xmlNewTextChild(desc, pk, BAD_CAST "KeywordSource", BAD_CAST "folder names, camera metadata");
    if (f->sha256)
        xmlNewTextChild(desc, pk, BAD_CAST "SourceSHA256", BAD_CAST f->sha256);
    /* Drop a description we emptied (its keywords went elsewhere). */
    for (xmlNode *c = rdf->children, *next; c; c = next) {
        next = c->next;
        if (c != desc && is_elem(c, NS_RDF, "Description") && !xmlFirstElementChild(c) &&
            c->properties && !c->properties->next) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
    xmlChar *mem = NULL;
    int len = 0;
    xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
    xmlFreeDoc(doc);
    if (!mem)
        return pk_fail(ctx, PK_ERR_INTERNAL, sidecar, "cannot serialise XMP");
    pk_status st = pk_safe_write_all(ctx, sidecar, mem, (size_t)len, true);
    xmlFree(mem);
    return st;
}

/* ---- the operation ---------------------------------------------------- */

static char *sidecar_name(const char *path, int darktable)
{
    size_t n = strlen(path);
    char *s = malloc(n + 5);
    if (!s)
        return NULL;
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (darktable || !dot)
        snprintf(s, n + 5, "%s.xmp", path);
    else
        snprintf(s, n + 5, "%.*s.xmp", (int)(dot - path), path);
    return s;
}

static const char file_sql[] =
    "SELECT l.path, l.root, a.sha256, a.camera_make, a.camera_model, a.lens FROM location l "
    "JOIN asset a ON a.id = l.asset_id WHERE l.path = ?";
static const char all_sql[] =
    "SELECT l.path, l.root, a.sha256, a.camera_make, a.camera_model, a.lens FROM location l "
    "JOIN asset a ON a.id = l.asset_id WHERE l.missing = 0 AND a.type IN ('photo', 'video') "
    "ORDER BY l.path";

static void facts_from_row(pk_stmt *q, facts *f)
{
    f->path = dup_or_null(pk_stmt_text(q, 0));
    f->root = dup_or_null(pk_stmt_text(q, 1));
    f->sha256 = dup_or_null(pk_stmt_text(q, 2));
    f->make = dup_or_null(pk_stmt_text(q, 3));
    f->model = dup_or_null(pk_stmt_text(q, 4));
    f->lens = dup_or_null(pk_stmt_text(q, 5));
}

/* A file the catalogue does not hold: probe it; its parent folder is the
 * only folder keyword. */
static pk_status facts_by_probe(pk_ctx *ctx, const char *path, facts *f)
{
    json_t *rec;
    pk_status st = pk_probe_record(ctx, path, 0, &rec);
    if (st != PK_OK)
        return st;
    pk_asset_meta m;
    pk_asset_meta_from_probe(rec, &m);
    f->path = strdup(path);
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        slash = strrchr(parent, '/');
        if (slash)
            *slash = '\0';
        f->root = strdup(parent);
    }
    f->make = dup_or_null(m.make);
    f->model = dup_or_null(m.model);
    f->lens = dup_or_null(m.lens);
    json_decref(rec);
    return PK_OK;
}

static void one_file(pk_run *run, const facts *f, int darktable)
{
    pk_ctx *ctx = pk_run_ctx(run);
    strlist hier = {0}, flat = {0};
    keywords_of(f, &hier, &flat);
    char *sidecar = sidecar_name(f->path, darktable);
    int added = 0, merged = 0;
    pk_status st = sidecar ? write_sidecar(ctx, sidecar, f, &hier, &flat, &added, &merged)
                           : pk_fail(ctx, PK_ERR_INTERNAL, NULL, "out of memory");
    if (st != PK_OK) {
        pk_run_file_failed(run, f->path, st);
    } else {
        json_t *r = json_object();
        json_object_set_new(r, "path", pk_json_string(f->path));
        json_object_set_new(r, "sidecar", pk_json_string(sidecar));
        json_object_set_new(r, "merged", json_boolean(merged));
        json_object_set_new(r, "added", json_integer(added));
        json_t *k = json_array(), *h = json_array();
        for (size_t i = 0; i < flat.n; i++)
            json_array_append_new(k, pk_json_string(flat.v[i]));
        for (size_t i = 0; i < hier.n; i++)
            json_array_append_new(h, pk_json_string(hier.v[i]));
        json_object_set_new(r, "keywords", k);
        json_object_set_new(r, "hierarchical", h);
        pk_run_emit(run, r);
    }
    free(sidecar);
    strlist_free(&hier);
    strlist_free(&flat);
}

static pk_status xmp_run(pk_run *run)
{
    pk_ctx *ctx = pk_run_ctx(run);
    int all = pk_run_bool(run, "all");
    size_t n = pk_run_input_count(run);
    if (all == (n > 0))
        return pk_fail(ctx, PK_ERR_USAGE, NULL, "give files or --all (not both)");
    int darktable = strcmp(pk_run_str(run, "sidecar-name"), "ext") == 0;
    xmlInitParser();
    pk_catalog *cat = NULL;
    /* Without a catalogue, named files are still served (by probing). */
    pk_status st = pk_catalog_open_for_run(run, 0, &cat);
    if (st != PK_OK && (all || st != PK_ERR_INPUT))
        return st;
    st = PK_OK;
    pk_stmt *q = NULL;
    if (cat)
        st = pk_db_prepare(cat->store, all ? all_sql : file_sql, &q);
    if (st == PK_OK && all) {
        int r;
        while ((r = pk_stmt_step(q)) == 1 && !pk_ctx_interrupted(ctx)) {
            facts f = {0};
            facts_from_row(q, &f);
            one_file(run, &f, darktable);
            free_facts(&f);
        }
        if (r < 0)
            st = PK_ERR_INTERNAL;
    }
    for (size_t i = 0; st == PK_OK && !all && i < n && !pk_ctx_interrupted(ctx); i++) {
        const char *in = pk_run_input(run, i);
        facts f = {0};
        char *abs = realpath(in, NULL);
        pk_status fs = abs ? PK_OK : pk_fail(ctx, PK_ERR_INPUT, in, "cannot access: %s", strerror(errno));
        int found = 0;
        if (fs == PK_OK && q) {
            pk_stmt_reset(q);
            pk_stmt_bind_text(q, 1, abs);
            if (pk_stmt_step(q) == 1) {
                facts_from_row(q, &f);
                found = 1;
            }
            pk_stmt_reset(q);
        }
        if (fs == PK_OK && !found)
            fs = facts_by_probe(ctx, abs, &f);
        if (fs == PK_OK)
            one_file(run, &f, darktable);
        else
            pk_run_file_failed(run, in, fs);
        free_facts(&f);
        free(abs);
    }
    pk_stmt_free(q);
    pk_catalog_close(cat);
    return st;
}

static void xmp_print(const json_t *r, FILE *out)
{
    fprintf(out, "%s: %s%lld new keyword(s)", json_string_value(json_object_get(r, "sidecar")),
            json_is_true(json_object_get(r, "merged")) ? "merged, " : "",
            (long long)json_integer_value(json_object_get(r, "added")));
    size_t i;
    const json_t *k;
    json_array_foreach(json_object_get(r, "hierarchical"), i, k)
        fprintf(out, "%s%s", i ? ", " : ": ", json_string_value(k));
    fputc('\n', out);
}

static const pk_param_spec xmp_params[] = {
    PK_CATALOG_PARAM,
    {.name = "all", .type = PK_PARAM_BOOL, .defval = "no",
     .help = "every photo and video of the catalogue that is present"},
    {.name = "sidecar-name", .type = PK_PARAM_ENUM, .defval = "adobe", .choices = "adobe|ext",
     .help = "adobe: photo.xmp (Lightroom, Bridge); ext: photo.jpg.xmp (darktable, digiKam)"},
    {.name = NULL},
};

const pk_op pk_op_xmp = {
    .name = "xmp",
    .summary = "Write keywords (folders, camera, lens) into XMP sidecars, merging existing ones",
    .description =
        "Writes dc:subject and lr:hierarchicalSubject (levels separated by '|', every level also in "
        "dc:subject) and a postkit block (program, date, content SHA-256) into the sidecar of each "
        "file. An existing sidecar keeps all its fields: keywords are added, never removed.",
    .input_name = "FILE",
    .input_kind = "media",
    .min_inputs = 0,
    .max_inputs = -1,
    .params = xmp_params,
    .run = xmp_run,
    .print_human = xmp_print,
};
