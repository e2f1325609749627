/*
 * C test suite of the ipfence C API (ffi/include/ipfence.h), run by scripts/test-ffi
 * against libipfence.a and libipfence.so, plain, under valgrind and under ASan/UBSan.
 *
 * usage: test_ffi DATA_DIR ADDRS EXPECTED BLOB
 *   DATA_DIR  tests/data (the real published fixtures)
 *   ADDRS     addresses to look up, one per line
 *   EXPECTED  what `ipfence lookup --json` answered for ADDRS, one tab-separated line per
 *             address: ip, prefix or "-", entries "service|region|nbg;..." or "-"
 *   BLOB      `ipfence compile` of the same AWS file (the CLI's blob must load here)
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipfence.h"

#define AWS_NEW "/aws/ip-ranges-2026-08-22-15-17-05.json"
#define AWS_OLD "/aws/ip-ranges-2026-08-22-11-57-05.json"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        checks++;                                                            \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

/* The thread's last error message (static buffer: single-threaded callers only). */
static const char *last_error(void) {
    static char buf[1024];
    size_t needed = 0;
    if (ipfence_last_error_message(buf, sizeof buf, &needed) != IPFENCE_RESULT_OK) {
        return "<message does not fit>";
    }
    return buf;
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

static char *join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

static int str_eq(ipfence_str s, const char *c, size_t clen) {
    return s.data != NULL && s.len == clen && memcmp(s.data, c, clen) == 0;
}

/* A string from a matcher: equal, and NUL-terminated as the header promises. */
static int mstr_eq(ipfence_str s, const char *c, size_t clen) {
    return str_eq(s, c, clen) && s.data[s.len] == '\0' && strlen(s.data) == s.len;
}

/* format NULL: detect; label NULL: none. */
static ipfence_matcher *load_source(const char *path, const char *format, const char *label,
                                    const ipfence_filter *filter) {
    size_t len;
    unsigned char *data = read_file(path, &len);
    ipfence_matcher *m = NULL;
    ipfence_result r = ipfence_matcher_from_source(data, len, path, format, label, filter, 0, &m);
    free(data);
    if (r != IPFENCE_RESULT_OK) {
        fprintf(stderr, "loading %s: %s\n", path, last_error());
        exit(2);
    }
    return m;
}

/* ---------- the cross-check data ---------- */

typedef struct {
    char ip[64];
    unsigned char bytes[16];
    size_t len;           /* 4 or 16 */
    int found;
    unsigned char net[16]; /* expected prefix network address */
    uint8_t family;       /* of the prefix: 4 or 6 (IPv4-mapped input matches IPv4) */
    uint8_t prefix_len;
    char *entries;        /* "service|region|nbg;..." */
} expect;

static expect *expects;
static size_t n_expects;

static void parse_prefix(const char *p, expect *e) {
    char addr[64];
    const char *slash = strchr(p, '/');
    size_t n = (size_t)(slash - p);
    memcpy(addr, p, n);
    addr[n] = 0;
    memset(e->net, 0, sizeof e->net);
    if (inet_pton(AF_INET, addr, e->net) == 1) {
        e->family = 4;
    } else if (inet_pton(AF_INET6, addr, e->net) == 1) {
        e->family = 6;
    } else {
        fprintf(stderr, "bad expected prefix %s\n", p);
        exit(2);
    }
    e->prefix_len = (uint8_t)atoi(slash + 1);
}

static void load_expected(const char *addrs_path, const char *expected_path) {
    size_t alen, elen;
    char *addrs = (char *)read_file(addrs_path, &alen);
    char *exp = (char *)read_file(expected_path, &elen);
    addrs = realloc(addrs, alen + 1);
    addrs[alen] = 0;
    exp = realloc(exp, elen + 1);
    exp[elen] = 0;
    size_t cap = 1024;
    expects = calloc(cap, sizeof *expects);
    char *asave = NULL, *esave = NULL;
    char *aline = strtok_r(addrs, "\n", &asave);
    char *eline = strtok_r(exp, "\n", &esave);
    while (aline && eline) {
        if (n_expects == cap) {
            cap *= 2;
            expects = realloc(expects, cap * sizeof *expects);
        }
        expect *e = &expects[n_expects++];
        memset(e, 0, sizeof *e);
        char *tsave = NULL;
        char *ip = strtok_r(eline, "\t", &tsave);
        char *prefix = strtok_r(NULL, "\t", &tsave);
        char *entries = strtok_r(NULL, "\t", &tsave);
        if (!ip || !prefix || !entries || strcmp(ip, aline) != 0) {
            fprintf(stderr, "expected file out of step at %s\n", aline);
            exit(2);
        }
        snprintf(e->ip, sizeof e->ip, "%s", ip);
        if (inet_pton(AF_INET, ip, e->bytes) == 1) {
            e->len = 4;
        } else if (inet_pton(AF_INET6, ip, e->bytes) == 1) {
            e->len = 16;
        } else {
            fprintf(stderr, "bad address %s\n", ip);
            exit(2);
        }
        e->found = strcmp(prefix, "-") != 0;
        if (e->found) parse_prefix(prefix, e);
        e->entries = strdup(entries);
        aline = strtok_r(NULL, "\n", &asave);
        eline = strtok_r(NULL, "\n", &esave);
    }
    if (aline || eline) {
        fprintf(stderr, "ADDRS and EXPECTED have different lengths\n");
        exit(2);
    }
    free(addrs);
    free(exp);
}

static void free_expected(void) {
    for (size_t i = 0; i < n_expects; i++) free(expects[i].entries);
    free(expects);
}

/* Whether a match agrees with what the CLI said; prints why not. */
static int match_ok(const ipfence_matcher *m, const expect *e, int found, const ipfence_match *x,
                    int check_tags, const char *how) {
    if (found != e->found) {
        fprintf(stderr, "%s %s: found %d, the CLI says %d\n", how, e->ip, found, e->found);
        return 0;
    }
    if (!found) return 1;
    if (x->family != e->family || x->prefix_len != e->prefix_len ||
        memcmp(x->addr, e->net, e->family == 4 ? 4 : 16) != 0) {
        fprintf(stderr, "%s %s: prefix differs (family %u, /%u)\n", how, e->ip, x->family,
                x->prefix_len);
        return 0;
    }
    if (!check_tags) return 1;
    /* Every tag set, in order, against "service|region|nbg;...". */
    const char *p = e->entries;
    uint32_t i = 0;
    for (; *p; i++) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *bar1 = memchr(p, '|', n);
        const char *bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(p + n - bar1 - 1)) : NULL;
        ipfence_tags t;
        if (!bar2 || i >= x->entry_count ||
            ipfence_matcher_match_tags(m, x, i, &t) != IPFENCE_RESULT_OK) {
            fprintf(stderr, "%s %s: tag set %u missing\n", how, e->ip, i);
            return 0;
        }
        if (!mstr_eq(t.service, p, (size_t)(bar1 - p)) ||
            !mstr_eq(t.region, bar1 + 1, (size_t)(bar2 - bar1 - 1)) ||
            !mstr_eq(t.extra, bar2 + 1, (size_t)(p + n - bar2 - 1)) ||
            !mstr_eq(t.provider, "aws", 3)) {
            fprintf(stderr, "%s %s: tag set %u differs: %.*s|%.*s|%.*s\n", how, e->ip, i,
                    (int)t.service.len, t.service.data, (int)t.region.len, t.region.data,
                    (int)t.extra.len, t.extra.data);
            return 0;
        }
        if (i == 0 && !(mstr_eq(x->tags.service, t.service.data, t.service.len) &&
                        mstr_eq(x->tags.region, t.region.data, t.region.len) &&
                        mstr_eq(x->tags.extra, t.extra.data, t.extra.len) &&
                        mstr_eq(x->tags.provider, "aws", 3))) {
            fprintf(stderr, "%s %s: the match's first tags differ from tag set 0\n", how, e->ip);
            return 0;
        }
        p += n;
        if (*p == ';') p++;
    }
    if (i != x->entry_count) {
        fprintf(stderr, "%s %s: %u tag sets, the CLI lists %u\n", how, e->ip, x->entry_count, i);
        return 0;
    }
    return 1;
}

/* Every address, single and batch, contains and lookup, against the CLI's answers. */
static size_t cross_check(const ipfence_matcher *m, int check_tags, const char *how) {
    size_t bad = 0;
    for (size_t i = 0; i < n_expects; i++) {
        const expect *e = &expects[i];
        ipfence_match x;
        bool found = false, has = false;
        CHECK(ipfence_matcher_lookup(m, e->bytes, e->len, &x, &found) == IPFENCE_RESULT_OK, "%s",
              last_error());
        CHECK(ipfence_matcher_contains(m, e->bytes, e->len, &has) == IPFENCE_RESULT_OK, "%s",
              last_error());
        if (!match_ok(m, e, found, &x, check_tags, how) || has != found) bad++;
    }
    /* Batches, one per family. */
    for (size_t fam = 4; fam <= 16; fam += 12) {
        size_t n = 0;
        for (size_t i = 0; i < n_expects; i++) n += expects[i].len == fam;
        unsigned char *addrs = malloc(n * fam + 1);
        size_t *idx = malloc((n + 1) * sizeof *idx);
        ipfence_match *xs = malloc((n + 1) * sizeof *xs);
        bool *found = malloc(n + 1), *has = malloc(n + 1);
        size_t k = 0;
        for (size_t i = 0; i < n_expects; i++) {
            if (expects[i].len != fam) continue;
            memcpy(addrs + k * fam, expects[i].bytes, fam);
            idx[k++] = i;
        }
        CHECK(ipfence_matcher_lookup_batch(m, addrs, fam, n, xs, found) == IPFENCE_RESULT_OK, "%s",
              last_error());
        CHECK(ipfence_matcher_contains_batch(m, addrs, fam, n, has) == IPFENCE_RESULT_OK, "%s",
              last_error());
        for (k = 0; k < n; k++) {
            if (!match_ok(m, &expects[idx[k]], found[k], &xs[k], check_tags && k % 7 == 0, how) ||
                has[k] != found[k])
                bad++;
        }
        free(addrs);
        free(idx);
        free(xs);
        free(found);
        free(has);
    }
    CHECK(bad == 0, "%s: %zu of %zu addresses disagree with `ipfence lookup --json`", how, bad,
          n_expects);
    return bad;
}

/* ---------- threads ---------- */

typedef struct {
    const ipfence_matcher *m;
    int id;
    size_t bad;
    int message_ok;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    /* Each thread fails in its own way, then checks its own message after the lookups. */
    unsigned char addr[5] = {0};
    bool found;
    size_t len = (size_t)(w->id % 3) + 1; /* 1, 2 or 3 bytes: never valid */
    ipfence_result r = ipfence_matcher_contains(w->m, addr, len, &found);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < n_expects; i++) {
            const expect *e = &expects[(i + (size_t)w->id * 997) % n_expects];
            ipfence_match x;
            bool f = false, has = false;
            if (ipfence_matcher_lookup(w->m, e->bytes, e->len, &x, &f) != IPFENCE_RESULT_OK ||
                ipfence_matcher_contains(w->m, e->bytes, e->len, &has) != IPFENCE_RESULT_OK ||
                f != e->found || has != e->found ||
                (f && (x.prefix_len != e->prefix_len || x.family != e->family)))
                w->bad++;
        }
    }
    char buf[256], want[64];
    size_t needed;
    snprintf(want, sizeof want, "addr_len: %zu is not", len);
    w->message_ok = r == IPFENCE_RESULT_INVALID_LENGTH &&
                    ipfence_last_error_message(buf, sizeof buf, &needed) == IPFENCE_RESULT_OK &&
                    strstr(buf, want) != NULL;
    return NULL;
}

static void test_threads(const ipfence_matcher *m) {
    enum { N = 8 };
    pthread_t t[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){.m = m, .id = i, .bad = 0, .message_ok = 0};
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0, "pthread_create");
    }
    size_t bad = 0;
    int messages = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        bad += w[i].bad;
        messages += w[i].message_ok;
    }
    CHECK(bad == 0, "%zu wrong answers across %d threads", bad, N);
    CHECK(messages == N, "only %d of %d threads read their own error message", messages, N);
}

/* ---------- error paths ---------- */

/* Whether the last error message contains `needle` (NULL: no requirement). */
static int message_has(const char *needle) {
    return needle == NULL || strstr(last_error(), needle) != NULL;
}

#define EXPECT_CODE(call, code, needle)                                                        \
    do {                                                                                       \
        ipfence_result r_ = (call);                                                            \
        CHECK(r_ == (code), "%s returned %u (%s), wanted %u", #call, r_, last_error(),       \
              (unsigned)(code));                                                               \
        CHECK(message_has(needle), "message %s lacks %s", last_error(), (const char *)(needle)); \
    } while (0)

static void test_errors(const char *data_dir, const ipfence_matcher *m) {
    const char *json = "{\"syncToken\":\"1\",\"createDate\":\"2026-01-01-00-00-00\",\"prefixes\":"
                       "[{\"ip_prefix\":\"10.0.0.1/8\",\"region\":\"r\",\"service\":\"S\","
                       "\"network_border_group\":\"r\"}],\"ipv6_prefixes\":[]}";
    const unsigned char *j = (const unsigned char *)json;
    size_t jl = strlen(json);
    ipfence_matcher *sentinel = (ipfence_matcher *)(uintptr_t)0x1234;
    ipfence_matcher *out = sentinel;

    /* Building. */
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, "h.json", "aws", NULL, NULL, 0, &out),
                IPFENCE_RESULT_PARSE_ERROR, "h.json: prefixes[0].ip_prefix");
    CHECK(strstr(last_error(), "10.0.0.1/8") != NULL, "the value is quoted: %s", last_error());
    CHECK(out == sentinel, "out written on failure");
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, NULL, "aws", NULL, NULL, IPFENCE_FLAG_MASK_HOST_BITS,
                                            &out),
                IPFENCE_RESULT_OK, NULL);
    CHECK(out != sentinel && ipfence_matcher_prefix_count(out) == 1, "masked host bits");
    ipfence_matcher_free(out);
    out = sentinel;
    EXPECT_CODE(ipfence_matcher_from_source(NULL, 5, NULL, NULL, NULL, NULL, 0, &out),
                IPFENCE_RESULT_NULL_PARAMETER, "data");
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, NULL, NULL, NULL, NULL, 0, NULL),
                IPFENCE_RESULT_NULL_PARAMETER, "out");
    /* Formats are the registry's names: an unknown one lists them. */
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, NULL, "xml", NULL, NULL, 0, &out),
                IPFENCE_RESULT_UNKNOWN_NAME, "unknown source format \"xml\"");
    CHECK(strstr(last_error(), ipfence_source_formats()) != NULL, "lists the formats: %s",
          last_error());
    CHECK(strstr(ipfence_source_formats(), "aws") && strstr(ipfence_source_formats(), "google") &&
              strstr(ipfence_source_formats(), "text"),
          "formats: %s", ipfence_source_formats());
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, NULL, "a\xff", NULL, NULL, 0, &out),
                IPFENCE_RESULT_INVALID_UTF8, "format");
    /* Labels: 1 to 64 of a-z 0-9 - _ . ; a self-describing file keeps its provider. */
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, NULL, NULL, "Bad Name", NULL, 0, &out),
                IPFENCE_RESULT_UNKNOWN_NAME, "source name \"Bad Name\"");
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, "h.json", NULL, "googlebot", NULL,
                                            IPFENCE_FLAG_MASK_HOST_BITS, &out),
                IPFENCE_RESULT_PARSE_ERROR, "name it aws");
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, NULL, NULL, NULL, NULL, 0x10, &out),
                IPFENCE_RESULT_INVALID_ARGUMENT, "flags: unknown bits 0x10");
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, "bad\xff", NULL, NULL, NULL, 0, &out),
                IPFENCE_RESULT_INVALID_UTF8, "name");
    EXPECT_CODE(ipfence_matcher_from_source(j, jl, NULL, NULL, NULL, NULL, 0, &out),
                IPFENCE_RESULT_PARSE_ERROR, "host bits");
    EXPECT_CODE(ipfence_matcher_from_source((const unsigned char *)"{\"prefixes\": [", 14, "x.json",
                                            "aws", NULL, NULL, 0, &out),
                IPFENCE_RESULT_PARSE_ERROR, "x.json");
    /* JSON of no known layout is refused, never guessed to be AWS. */
    EXPECT_CODE(ipfence_matcher_from_source((const unsigned char *)"{\"prefixes\": []}", 16, "y.json",
                                            NULL, NULL, NULL, 0, &out),
                IPFENCE_RESULT_PARSE_ERROR, "layout ipfence does not know");
    EXPECT_CODE(ipfence_matcher_from_source((const unsigned char *)"1.2.3.4/33\n", 11, "l.txt",
                                            "TEXT", NULL, NULL, 0, &out),
                IPFENCE_RESULT_PARSE_ERROR, "l.txt: line 1");
    CHECK(out == sentinel, "out written on failure");

    /* Filters: unknown names, bad family, NULL or non-UTF-8 names. */
    char *aws_path = join(data_dir, AWS_NEW);
    size_t alen;
    unsigned char *aws = read_file(aws_path, &alen);
    const char *nope[] = {"NO_SUCH_SERVICE"};
    ipfence_filter f = {0};
    f.services = nope;
    f.services_len = 1;
    EXPECT_CODE(ipfence_matcher_from_source(aws, alen, NULL, "aws", NULL, &f, 0, &out),
                IPFENCE_RESULT_UNKNOWN_NAME, "NO_SUCH_SERVICE");
    const char *nul[] = {NULL};
    f.services = nul;
    EXPECT_CODE(ipfence_matcher_from_source(aws, alen, NULL, "aws", NULL, &f, 0, &out),
                IPFENCE_RESULT_NULL_PARAMETER, "filter.services[0]");
    const char *latin1[] = {"S\xe9"};
    f.services = latin1;
    EXPECT_CODE(ipfence_matcher_from_source(aws, alen, NULL, "aws", NULL, &f, 0, &out),
                IPFENCE_RESULT_INVALID_UTF8, "filter.services[0]");
    f = (ipfence_filter){0};
    f.regions = NULL;
    f.regions_len = 2;
    EXPECT_CODE(ipfence_matcher_from_source(aws, alen, NULL, "aws", NULL, &f, 0, &out),
                IPFENCE_RESULT_NULL_PARAMETER, "filter.regions");
    f = (ipfence_filter){0};
    f.family = 5;
    EXPECT_CODE(ipfence_matcher_from_source(aws, alen, NULL, "aws", NULL, &f, 0, &out),
                IPFENCE_RESULT_INVALID_ARGUMENT, "filter.family: 5");
    f.family = IPFENCE_FAMILY_V4;
    f.services_len = (size_t)-1 / 2;
    f.services = nope;
    EXPECT_CODE(ipfence_matcher_from_source(aws, alen, NULL, "aws", NULL, &f, 0, &out),
                IPFENCE_RESULT_INVALID_LENGTH, "filter.services");
    f = (ipfence_filter){0};
    const char *google[] = {"google"};
    f.providers = google;
    f.providers_len = 1;
    EXPECT_CODE(ipfence_matcher_from_source(aws, alen, NULL, NULL, NULL, &f, 0, &out),
                IPFENCE_RESULT_UNKNOWN_NAME, "unknown provider \"google\"");
    CHECK(strstr(last_error(), "known: aws") != NULL, "lists the providers: %s", last_error());
    CHECK(out == sentinel, "out written on failure");
    free(aws);
    free(aws_path);

    /* Blobs. */
    size_t need = 0;
    EXPECT_CODE(ipfence_matcher_to_blob(m, NULL, 0, &need), IPFENCE_RESULT_BUFFER_TOO_SMALL,
                "too small");
    CHECK(need > 64, "blob size %zu", need);
    unsigned char *blob = malloc(need + 1);
    size_t need2 = 0;
    EXPECT_CODE(ipfence_matcher_to_blob(m, blob, need - 1, &need2), IPFENCE_RESULT_BUFFER_TOO_SMALL,
                NULL);
    CHECK(need2 == need, "needed size reported");
    EXPECT_CODE(ipfence_matcher_to_blob(m, blob, need + 1, NULL), IPFENCE_RESULT_NULL_PARAMETER,
                "needed");
    EXPECT_CODE(ipfence_matcher_to_blob(NULL, blob, need + 1, &need2),
                IPFENCE_RESULT_NULL_PARAMETER, "matcher");
    EXPECT_CODE(ipfence_matcher_to_blob(m, blob, need, &need2), IPFENCE_RESULT_OK, NULL);
    EXPECT_CODE(ipfence_matcher_from_blob(blob, need - 1, &out), IPFENCE_RESULT_BLOB_ERROR,
                "blob: offset");
    blob[need] = 0;
    EXPECT_CODE(ipfence_matcher_from_blob(blob, need + 1, &out), IPFENCE_RESULT_BLOB_ERROR,
                "after the end");
    EXPECT_CODE(ipfence_matcher_from_blob_borrowed(blob, need + 1, &out),
                IPFENCE_RESULT_BLOB_ERROR, "after the end");
    EXPECT_CODE(ipfence_matcher_from_blob(blob, 3, &out), IPFENCE_RESULT_BLOB_ERROR, "blob");
    EXPECT_CODE(ipfence_matcher_from_blob(NULL, 3, &out), IPFENCE_RESULT_NULL_PARAMETER, "data");
    EXPECT_CODE(ipfence_matcher_from_blob(blob, need, NULL), IPFENCE_RESULT_NULL_PARAMETER, "out");
    /* A blob of the previous format (4, before shared tag runs and end nodes): the
       version field is checked first, and the message says how to fix it. */
    CHECK(blob[8] == 5 && blob[9] == 0 && blob[10] == 0 && blob[11] == 0, "format version %u",
          blob[8]);
    blob[8] = 4;
    EXPECT_CODE(ipfence_matcher_from_blob(blob, need, &out), IPFENCE_RESULT_BLOB_ERROR,
                "blob: offset 8: format version 4, this build reads version 5 (rebuild it with "
                "`ipfence compile`)");
    EXPECT_CODE(ipfence_matcher_from_blob_borrowed(blob, need, &out), IPFENCE_RESULT_BLOB_ERROR,
                "rebuild it with `ipfence compile`");
    CHECK(out == sentinel, "out written on failure");
    blob[8] = 5;
    /* Flip every 97th byte in turn: each corrupt blob is refused (checksum) or loads and
       answers without crashing. */
    size_t refused = 0;
    for (size_t i = 0; i < need; i += 97) {
        blob[i] ^= 0x5a;
        ipfence_matcher *c = NULL;
        if (ipfence_matcher_from_blob_borrowed(blob, need, &c) == IPFENCE_RESULT_OK) {
            bool found;
            for (size_t k = 0; k < n_expects; k += 101)
                ipfence_matcher_contains(c, expects[k].bytes, expects[k].len, &found);
            ipfence_matcher_free(c);
        } else {
            refused++;
        }
        blob[i] ^= 0x5a;
    }
    CHECK(refused > 0, "no corrupt blob was refused");
    CHECK(out == sentinel, "out written on failure");
    free(blob);

    /* Lookups. */
    unsigned char a[16] = {3, 5, 140, 2};
    bool found = true;
    ipfence_match x;
    memset(&x, 0xab, sizeof x);
    ipfence_match before = x;
    EXPECT_CODE(ipfence_matcher_contains(m, a, 5, &found), IPFENCE_RESULT_INVALID_LENGTH,
                "addr_len: 5 is not");
    EXPECT_CODE(ipfence_matcher_contains(m, a, 0, &found), IPFENCE_RESULT_INVALID_LENGTH, "0");
    EXPECT_CODE(ipfence_matcher_contains(m, NULL, 4, &found), IPFENCE_RESULT_NULL_PARAMETER, "addr");
    EXPECT_CODE(ipfence_matcher_contains(NULL, a, 4, &found), IPFENCE_RESULT_NULL_PARAMETER,
                "matcher");
    EXPECT_CODE(ipfence_matcher_contains(m, a, 4, NULL), IPFENCE_RESULT_NULL_PARAMETER, "out_found");
    EXPECT_CODE(ipfence_matcher_lookup(m, a, 15, &x, &found), IPFENCE_RESULT_INVALID_LENGTH, "15");
    EXPECT_CODE(ipfence_matcher_lookup(m, a, 4, NULL, &found), IPFENCE_RESULT_NULL_PARAMETER,
                "out_match");
    EXPECT_CODE(ipfence_matcher_lookup(m, a, 4, &x, NULL), IPFENCE_RESULT_NULL_PARAMETER,
                "out_found");
    CHECK(found == true && memcmp(&x, &before, sizeof x) == 0, "out-params written on failure");
    unsigned char miss[4] = {8, 8, 8, 8};
    EXPECT_CODE(ipfence_matcher_lookup(m, miss, 4, &x, &found), IPFENCE_RESULT_OK, NULL);
    CHECK(!found && memcmp(&x, &before, sizeof x) == 0, "a miss leaves out_match alone");
    bool fs[2];
    EXPECT_CODE(ipfence_matcher_contains_batch(m, a, 8, 2, fs), IPFENCE_RESULT_INVALID_LENGTH, "8");
    EXPECT_CODE(ipfence_matcher_contains_batch(m, NULL, 4, 2, fs), IPFENCE_RESULT_NULL_PARAMETER,
                "addrs");
    EXPECT_CODE(ipfence_matcher_contains_batch(m, a, 4, 2, NULL), IPFENCE_RESULT_NULL_PARAMETER,
                "out_found");
    EXPECT_CODE(ipfence_matcher_contains_batch(m, a, 16, (size_t)-1 / 8, fs),
                IPFENCE_RESULT_INVALID_LENGTH, "overflow");
    EXPECT_CODE(ipfence_matcher_contains_batch(m, NULL, 4, 0, NULL), IPFENCE_RESULT_OK, NULL);
    EXPECT_CODE(ipfence_matcher_lookup_batch(m, a, 4, 1, NULL, fs), IPFENCE_RESULT_NULL_PARAMETER,
                "out_matches");
    EXPECT_CODE(ipfence_matcher_lookup_batch(m, NULL, 4, 0, NULL, NULL), IPFENCE_RESULT_OK, NULL);

    /* Tag sets. */
    EXPECT_CODE(ipfence_matcher_lookup(m, a, 4, &x, &found), IPFENCE_RESULT_OK, NULL);
    CHECK(found && x.entry_count >= 1, "3.5.140.2 is published");
    ipfence_tags t;
    EXPECT_CODE(ipfence_matcher_match_tags(m, &x, x.entry_count, &t), IPFENCE_RESULT_INVALID_ARGUMENT,
                "out of range");
    ipfence_match forged = x;
    forged.family = 7;
    EXPECT_CODE(ipfence_matcher_match_tags(m, &forged, 0, &t), IPFENCE_RESULT_INVALID_ARGUMENT,
                "match.family: 7");
    forged = x;
    forged.prefix_len = 31;
    EXPECT_CODE(ipfence_matcher_match_tags(m, &forged, 0, &t), IPFENCE_RESULT_INVALID_ARGUMENT,
                "not a prefix of this matcher");
    EXPECT_CODE(ipfence_matcher_match_tags(m, NULL, 0, &t), IPFENCE_RESULT_NULL_PARAMETER, "match");

    /* Exports. */
    char small[8];
    size_t needed = 0;
    EXPECT_CODE(ipfence_matcher_export(m, "nope", NULL, NULL, small, sizeof small, &needed),
                IPFENCE_RESULT_INVALID_ARGUMENT, "nope");
    EXPECT_CODE(ipfence_matcher_export(m, NULL, NULL, NULL, small, sizeof small, &needed),
                IPFENCE_RESULT_NULL_PARAMETER, "format");
    EXPECT_CODE(ipfence_matcher_export(m, "nftables", NULL, NULL, small, sizeof small, NULL),
                IPFENCE_RESULT_NULL_PARAMETER, "needed");
    ipfence_export_options o = {0};
    o.name = "bad name; drop";
    EXPECT_CODE(ipfence_matcher_export(m, "nftables", &o, NULL, small, sizeof small, &needed),
                IPFENCE_RESULT_EXPORT_ERROR, "bad name; drop");
    o.name = "ok\xc3";
    EXPECT_CODE(ipfence_matcher_export(m, "nftables", &o, NULL, small, sizeof small, &needed),
                IPFENCE_RESULT_INVALID_UTF8, "options.name");
    o = (ipfence_export_options){0};
    o.ports_len = 3;
    EXPECT_CODE(ipfence_matcher_export(m, "nftables", &o, NULL, small, sizeof small, &needed),
                IPFENCE_RESULT_NULL_PARAMETER, "options.ports");
    needed = 0;
    EXPECT_CODE(ipfence_matcher_export(m, "nftables", NULL, NULL, small, sizeof small, &needed),
                IPFENCE_RESULT_BUFFER_TOO_SMALL, "too small");
    CHECK(needed > sizeof small, "needed %zu", needed);

    /* Diffs. */
    ipfence_diff *d = NULL;
    EXPECT_CODE(ipfence_diff_new(m, NULL, &d), IPFENCE_RESULT_NULL_PARAMETER, "new_matcher");
    EXPECT_CODE(ipfence_diff_new(m, m, NULL), IPFENCE_RESULT_NULL_PARAMETER, "out");
    EXPECT_CODE(ipfence_diff_new(m, m, &d), IPFENCE_RESULT_OK, NULL);
    CHECK(ipfence_diff_added_count(d) == 0 && ipfence_diff_removed_count(d) == 0, "self diff");
    ipfence_diff_entry de;
    EXPECT_CODE(ipfence_diff_added(d, 0, &de), IPFENCE_RESULT_INVALID_ARGUMENT, "out of range");
    EXPECT_CODE(ipfence_diff_removed(NULL, 0, &de), IPFENCE_RESULT_NULL_PARAMETER, "diff");
    ipfence_diff_free(d);

    /* NULL handles, unknown codes, the message buffer contract. */
    ipfence_matcher_free(NULL);
    ipfence_diff_free(NULL);
    CHECK(ipfence_matcher_prefix_count(NULL) == 0 && ipfence_matcher_entry_count(NULL) == 0 &&
              ipfence_diff_added_count(NULL) == 0,
          "NULL counts");
    CHECK(strcmp(ipfence_result_message(IPFENCE_RESULT_OK), "ok") == 0, "ok message");
    CHECK(strcmp(ipfence_result_message(999), "unknown result code") == 0, "unknown code");
    CHECK(strcmp(ipfence_result_message(IPFENCE_RESULT_PANIC), "unknown result code") != 0,
          "panic has a message");
    CHECK(strcmp(ipfence_result_message(IPFENCE_RESULT_ERROR), "unknown result code") != 0,
          "the generic code has a message");
    ipfence_matcher_contains(m, a, 3, &found);
    size_t mlen = 0;
    CHECK(ipfence_last_error_message(NULL, 0, &mlen) == IPFENCE_RESULT_BUFFER_TOO_SMALL, "size ask");
    char msg[256];
    memset(msg, 'x', sizeof msg);
    CHECK(ipfence_last_error_message(msg, mlen - 1, &mlen) == IPFENCE_RESULT_BUFFER_TOO_SMALL &&
              msg[0] == 'x',
          "a short buffer is not written");
    CHECK(ipfence_last_error_message(msg, mlen, &mlen) == IPFENCE_RESULT_OK &&
              strlen(msg) + 1 == mlen,
          "message length");
    CHECK(strcmp(msg, "addr_len: 3 is not an address length (4 for IPv4, 16 for IPv6)") == 0,
          "message: %s", msg);
    CHECK(ipfence_last_error_message(msg, sizeof msg, NULL) == IPFENCE_RESULT_NULL_PARAMETER,
          "NULL needed");
}

/* ---------- features on real data ---------- */

static void test_features(const char *data_dir, const ipfence_matcher *m) {
    char *p_old = join(data_dir, AWS_OLD);
    ipfence_matcher *old = load_source(p_old, NULL, NULL, NULL);
    free(p_old);

    /* Diff of the real consecutive pair: the newer adds 1.178.86.0/24. */
    ipfence_diff *d = NULL;
    CHECK(ipfence_diff_new(old, m, &d) == IPFENCE_RESULT_OK, "%s", last_error());
    /* Published twice, under AMAZON and EC2. */
    CHECK(ipfence_diff_added_count(d) == 2 && ipfence_diff_removed_count(d) == 0,
          "added %zu removed %zu", ipfence_diff_added_count(d), ipfence_diff_removed_count(d));
    const char *services[2] = {"AMAZON", "EC2"};
    for (size_t i = 0; i < ipfence_diff_added_count(d); i++) {
        ipfence_diff_entry e;
        CHECK(ipfence_diff_added(d, i, &e) == IPFENCE_RESULT_OK, "%s", last_error());
        char text[64];
        inet_ntop(AF_INET, e.addr, text, sizeof text);
        CHECK(e.family == 4 && e.prefix_len == 24 && strcmp(text, "1.178.86.0") == 0 &&
                  str_eq(e.provider, "aws", 3) &&
                  str_eq(e.service, services[i], strlen(services[i])) &&
                  str_eq(e.region, "ap-southeast-3", 14),
              "added %s/%u %.*s", text, e.prefix_len, (int)e.service.len, e.service.data);
    }
    ipfence_diff_free(d);

    /* Export: full and incremental, with the size contract. */
    size_t needed = 0;
    CHECK(ipfence_matcher_export(m, "nftables", NULL, old, NULL, 0, &needed) ==
              IPFENCE_RESULT_BUFFER_TOO_SMALL,
          "size ask");
    char *out = malloc(needed);
    size_t needed2 = 0;
    CHECK(ipfence_matcher_export(m, "NFTABLES", NULL, old, out, needed, &needed2) ==
              IPFENCE_RESULT_OK,
          "%s", last_error());
    CHECK(needed2 == needed && strlen(out) + 1 == needed, "lengths %zu %zu", needed, needed2);
    CHECK(strstr(out, "add element inet ipfence ipfence_v4") && strstr(out, "1.178.86.0/24"),
          "incremental nftables: %s", out);
    free(out);
    /* Every format from an IPv4-only matcher (iptables takes one family); with
       IPFENCE_EXPORT_DIR set, each text is written there for scripts/test-ffi to compare
       with `ipfence export` byte for byte. */
    ipfence_filter v4only = {0};
    v4only.family = IPFENCE_FAMILY_V4;
    char *p_new = join(data_dir, AWS_NEW);
    ipfence_matcher *m4 = load_source(p_new, NULL, NULL, &v4only);
    const char *formats[] = {"nftables", "ipset", "iptables", "pf",
                             "aws-waf", "aws-prefix-list", "aws-security-group"};
    /* Ports only for the formats that read them: the others refuse the option. */
    const int takes_ports[] = {1, 0, 1, 1, 0, 0, 1};
    uint16_t ports[] = {443};
    ipfence_export_options o = {0};
    o.name = "cloud";
    const char *dir = getenv("IPFENCE_EXPORT_DIR");
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        o.ports = takes_ports[i] ? ports : NULL;
        o.ports_len = takes_ports[i] ? 1 : 0;
        needed = 0;
        ipfence_result r = ipfence_matcher_export(m4, formats[i], &o, NULL, NULL, 0, &needed);
        CHECK(r == IPFENCE_RESULT_BUFFER_TOO_SMALL, "%s: %s", formats[i], last_error());
        out = malloc(needed);
        r = ipfence_matcher_export(m4, formats[i], &o, NULL, out, needed, &needed);
        CHECK(r == IPFENCE_RESULT_OK && strlen(out) + 1 == needed && needed > 200, "%s: %s",
              formats[i], last_error());
        if (dir && r == IPFENCE_RESULT_OK) {
            char *path = join(dir, "/");
            char *file = join(path, formats[i]);
            FILE *fp = fopen(file, "w");
            CHECK(fp != NULL, "cannot write %s", file);
            if (fp) {
                fputs(out, fp);
                fclose(fp);
            }
            free(path);
            free(file);
        }
        free(out);
    }
    ipfence_matcher_free(m4);

    /* A filter: S3 over IPv4 only. Every hit is an S3 IPv4 prefix that the unfiltered
       matcher has too; some published addresses are not S3. */
    const char *s3[] = {"s3"};
    const char *aws_only[] = {"AWS"};
    ipfence_filter f = {0};
    f.providers = aws_only;
    f.providers_len = 1;
    f.services = s3;
    f.services_len = 1;
    f.family = IPFENCE_FAMILY_V4;
    ipfence_matcher *fm = load_source(p_new, "aws", NULL, &f);
    free(p_new);
    ipfence_match x;
    bool found = false;
    size_t hits = 0, all_hits = 0, wrong = 0;
    for (size_t i = 0; i < n_expects; i++) {
        const expect *e = &expects[i];
        CHECK(ipfence_matcher_lookup(fm, e->bytes, e->len, &x, &found) == IPFENCE_RESULT_OK, "%s",
              last_error());
        all_hits += e->found;
        if (!found) continue;
        hits++;
        if (!e->found || x.family != 4) wrong++;
        for (uint32_t k = 0; k < x.entry_count; k++) {
            ipfence_tags t;
            if (ipfence_matcher_match_tags(fm, &x, k, &t) != IPFENCE_RESULT_OK ||
                !str_eq(t.service, "S3", 2))
                wrong++;
        }
    }
    CHECK(wrong == 0 && hits > 0 && hits < all_hits, "S3 filter: %zu hits of %zu, %zu wrong", hits,
          all_hits, wrong);
    unsigned char a6[16] = {0x26, 0, 0x1f, 0x18};
    CHECK(ipfence_matcher_contains(fm, a6, 16, &found) == IPFENCE_RESULT_OK && !found,
          "IPv4 only");
    out = malloc(needed = 1 << 16);
    CHECK(ipfence_matcher_export(fm, "nftables", NULL, NULL, out, needed, &needed) ==
              IPFENCE_RESULT_OK,
          "%s", last_error());
    CHECK(strstr(out, "# filter: provider=AWS service=s3 family=ipv4") != NULL, "header: %.300s",
          out);
    free(out);
    ipfence_matcher_free(fm);

    /* IPv4-mapped IPv6 is looked up as IPv4. */
    unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 3, 5, 140, 2};
    CHECK(ipfence_matcher_lookup(m, mapped, 16, &x, &found) == IPFENCE_RESULT_OK && found &&
              x.family == 4 && x.prefix_len == 22,
          "mapped");

    /* The other sources: CloudFront JSON and CIDR text. */
    char *p_cf = join(data_dir, "/cloudfront/list-cloudfront-ips.json");
    ipfence_matcher *cf = load_source(p_cf, NULL, NULL, NULL);
    free(p_cf);
    CHECK(ipfence_matcher_prefix_count(cf) > 100, "cloudfront prefixes %zu",
          ipfence_matcher_prefix_count(cf));
    char *p_cl = join(data_dir, "/cloudflare/ips-v4");
    ipfence_matcher *cl = load_source(p_cl, "text", NULL, NULL);
    ipfence_matcher *named = load_source(p_cl, "cidr", "cloudflare", NULL);
    free(p_cl);
    unsigned char cfl[4] = {104, 16, 0, 1};
    CHECK(ipfence_matcher_lookup(cl, cfl, 4, &x, &found) == IPFENCE_RESULT_OK && found &&
              mstr_eq(x.tags.provider, "text", 4) && mstr_eq(x.tags.service, "", 0) &&
              mstr_eq(x.tags.region, "", 0),
          "cloudflare text list");
    CHECK(ipfence_matcher_lookup(named, cfl, 4, &x, &found) == IPFENCE_RESULT_OK && found &&
              mstr_eq(x.tags.provider, "cloudflare", 10) && mstr_eq(x.tags.service, "", 0),
          "a labelled text list: %.*s", (int)x.tags.provider.len, x.tags.provider.data);
    ipfence_matcher_free(cf);
    ipfence_matcher_free(cl);
    ipfence_matcher_free(named);

    /* Google's crawler list does not say whose it is: the label does. */
    char *p_bot = join(data_dir, "/google/googlebot.json");
    size_t blen;
    unsigned char *bot = read_file(p_bot, &blen);
    ipfence_matcher *gb = NULL;
    EXPECT_CODE(ipfence_matcher_from_source(bot, blen, p_bot, NULL, NULL, NULL, 0, &gb),
                IPFENCE_RESULT_PARSE_ERROR, "googlebot.json");
    CHECK(gb == NULL, "out written on failure");
    EXPECT_CODE(ipfence_matcher_from_source(bot, blen, p_bot, "google", "googlebot", NULL, 0, &gb),
                IPFENCE_RESULT_OK, NULL);
    free(bot);
    free(p_bot);
    unsigned char gbot[4] = {192, 178, 4, 1}; /* 192.178.4.0/27 */
    CHECK(gb && ipfence_matcher_lookup(gb, gbot, 4, &x, &found) == IPFENCE_RESULT_OK && found &&
              x.prefix_len == 27 && mstr_eq(x.tags.provider, "google", 6) &&
              mstr_eq(x.tags.service, "googlebot", 9),
          "googlebot: %.*s %.*s", (int)x.tags.provider.len, x.tags.provider.data,
          (int)x.tags.service.len, x.tags.service.data);
    const char *bots[] = {"googlebot"};
    const char *googles[] = {"google"};
    f = (ipfence_filter){0};
    f.providers = googles;
    f.providers_len = 1;
    f.services = bots;
    f.services_len = 1;
    char *p_bot2 = join(data_dir, "/google/googlebot.json");
    ipfence_matcher *gbf = load_source(p_bot2, NULL, "googlebot", &f);
    free(p_bot2);
    CHECK(ipfence_matcher_prefix_count(gbf) == ipfence_matcher_prefix_count(gb),
          "provider and service filter keeps every googlebot prefix");
    ipfence_matcher_free(gbf);
    ipfence_matcher_free(gb);
    /* cloud.json says it is Google's by itself. */
    char *p_gc = join(data_dir, "/google/cloud.json");
    ipfence_matcher *gc = load_source(p_gc, NULL, NULL, NULL);
    free(p_gc);
    unsigned char gcloud[4] = {34, 35, 1, 2}; /* 34.35.0.0/16, africa-south1 */
    CHECK(ipfence_matcher_lookup(gc, gcloud, 4, &x, &found) == IPFENCE_RESULT_OK && found &&
              mstr_eq(x.tags.provider, "google", 6) && mstr_eq(x.tags.service, "Google Cloud", 12) &&
              mstr_eq(x.tags.region, "africa-south1", 13),
          "google cloud: %.*s %.*s %.*s", (int)x.tags.provider.len, x.tags.provider.data,
          (int)x.tags.service.len, x.tags.service.data, (int)x.tags.region.len, x.tags.region.data);
    ipfence_matcher_free(gc);
    ipfence_matcher_free(old);

    /* Version. */
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", IPFENCE_VERSION_MAJOR, IPFENCE_VERSION_MINOR,
             IPFENCE_VERSION_PATCH);
    CHECK(strcmp(ipfence_version(), v) == 0, "version %s vs %s", ipfence_version(), v);
    CHECK(IPFENCE_VERSION_NUMBER == ((IPFENCE_VERSION_MAJOR << 16) | (IPFENCE_VERSION_MINOR << 8) |
                                     IPFENCE_VERSION_PATCH),
          "version number");
}

/* ipfence_matcher_verify_bot on Google's real googlebot.json (the only list loaded here):
 * genuine inside it (IPv4, IPv6, IPv4-mapped) with the prefix, fake outside it, a crawler
 * of another list unverifiable, no claim, case variants and bytes that are not UTF-8. */
static void test_verify_bot(const char *data_dir) {
    char *path = join(data_dir, "/google/googlebot.json");
    ipfence_matcher *g = load_source(path, NULL, "googlebot", NULL);
    free(path);
    const char *ua =
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html)";
    const unsigned char v4[4] = {66, 249, 79, 70};        /* in 66.249.79.64/27 */
    const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 66, 249, 79, 70};
    const unsigned char v6[16] = {0x20, 0x01, 0x48, 0x60, 0x48, 0x01, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 9};
    const unsigned char outside[4] = {203, 0, 113, 9};
    ipfence_bot_verdict v;
    CHECK(ipfence_matcher_verify_bot(g, (const uint8_t *)ua, strlen(ua), v4, 4, &v) ==
              IPFENCE_RESULT_OK, "%s", last_error());
    CHECK(v.kind == IPFENCE_BOT_VERDICT_KIND_GENUINE, "kind %u", (unsigned)v.kind);
    CHECK(v.crawler && strcmp(v.crawler, "Googlebot") == 0, "crawler");
    CHECK(v.operator_name && strcmp(v.operator_name, "Google") == 0, "operator");
    CHECK(v.list && strcmp(v.list, "googlebot.json") == 0, "list");
    CHECK(v.prefix_family == 4 && v.prefix_len == 27 && v.prefix_addr[3] == 64, "prefix %u/%u",
          v.prefix_family, v.prefix_len);
    CHECK(ipfence_matcher_verify_bot(g, (const uint8_t *)ua, strlen(ua), mapped, 16, &v) ==
                  IPFENCE_RESULT_OK && v.kind == IPFENCE_BOT_VERDICT_KIND_GENUINE && v.prefix_family == 4,
          "mapped");
    CHECK(ipfence_matcher_verify_bot(g, (const uint8_t *)"googlebot", 9, v6, 16, &v) ==
                  IPFENCE_RESULT_OK && v.kind == IPFENCE_BOT_VERDICT_KIND_GENUINE &&
                  v.prefix_family == 6 && v.prefix_len == 64,
          "v6");
    CHECK(ipfence_matcher_verify_bot(g, (const uint8_t *)ua, strlen(ua), outside, 4, &v) ==
                  IPFENCE_RESULT_OK && v.kind == IPFENCE_BOT_VERDICT_KIND_FAKE && v.list == NULL &&
                  v.prefix_family == 0 && strcmp(v.crawler, "Googlebot") == 0,
          "fake");
    /* Not UTF-8 around the token: still a claim. */
    const char *latin1 = "\xe9\xe9 GOOGLEBOT/2.1 \xff";
    CHECK(ipfence_matcher_verify_bot(g, (const uint8_t *)latin1, strlen(latin1), outside, 4, &v) ==
                  IPFENCE_RESULT_OK && v.kind == IPFENCE_BOT_VERDICT_KIND_FAKE,
          "latin1");
    const char *ads = "AdsBot-Google (+http://www.google.com/adsbot.html)";
    CHECK(ipfence_matcher_verify_bot(g, (const uint8_t *)ads, strlen(ads), v4, 4, &v) ==
                  IPFENCE_RESULT_OK && v.kind == IPFENCE_BOT_VERDICT_KIND_UNVERIFIABLE &&
                  strcmp(v.crawler, "AdsBot-Google") == 0,
          "unverifiable");
    CHECK(ipfence_matcher_verify_bot(g, (const uint8_t *)"NotGooglebot", 12, outside, 4, &v) ==
                  IPFENCE_RESULT_OK && v.kind == IPFENCE_BOT_VERDICT_KIND_NONE && v.crawler == NULL,
          "none");
    CHECK(ipfence_matcher_verify_bot(g, NULL, 0, outside, 4, &v) == IPFENCE_RESULT_OK &&
              v.kind == IPFENCE_BOT_VERDICT_KIND_NONE,
          "empty user agent");
    EXPECT_CODE(ipfence_matcher_verify_bot(g, (const uint8_t *)ua, strlen(ua), v4, 5, &v),
                IPFENCE_RESULT_INVALID_LENGTH, "addr_len");
    EXPECT_CODE(ipfence_matcher_verify_bot(g, (const uint8_t *)ua, strlen(ua), v4, 4, NULL),
                IPFENCE_RESULT_NULL_PARAMETER, "out");
    EXPECT_CODE(ipfence_matcher_verify_bot(NULL, (const uint8_t *)ua, strlen(ua), v4, 4, &v),
                IPFENCE_RESULT_NULL_PARAMETER, "matcher");
    ipfence_matcher_free(g);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s DATA_DIR ADDRS EXPECTED BLOB\n", argv[0]);
        return 2;
    }
    const char *data_dir = argv[1];
    load_expected(argv[2], argv[3]);
    CHECK(n_expects >= 10000, "only %zu addresses", n_expects);

    char *aws_path = join(data_dir, AWS_NEW);
    ipfence_matcher *m = load_source(aws_path, NULL, NULL, NULL);
    free(aws_path);
    CHECK(ipfence_matcher_prefix_count(m) > 1000 &&
              ipfence_matcher_entry_count(m) > ipfence_matcher_prefix_count(m),
          "counts");

    /* 1. Built from the JSON, against the CLI. */
    cross_check(m, 1, "from_source");

    /* 2. The CLI's blob, copied and borrowed (from an odd address: no alignment needed). */
    size_t blen;
    unsigned char *blob = read_file(argv[4], &blen);
    unsigned char *odd = malloc(blen + 1);
    memcpy(odd + 1, blob, blen);
    ipfence_matcher *copied = NULL, *borrowed = NULL;
    CHECK(ipfence_matcher_from_blob(blob, blen, &copied) == IPFENCE_RESULT_OK, "%s", last_error());
    free(blob); /* the copy must not need it */
    CHECK(ipfence_matcher_from_blob_borrowed(odd + 1, blen, &borrowed) == IPFENCE_RESULT_OK, "%s",
          last_error());
    cross_check(copied, 1, "from_blob");
    cross_check(borrowed, 0, "from_blob_borrowed");
    /* Our blob equals the CLI's. */
    size_t need = 0;
    ipfence_matcher_to_blob(m, NULL, 0, &need);
    unsigned char *mine = malloc(need);
    CHECK(ipfence_matcher_to_blob(m, mine, need, &need) == IPFENCE_RESULT_OK, "to_blob");
    CHECK(need == blen && memcmp(mine, odd + 1, blen) == 0, "the C API's blob differs from the CLI's");
    free(mine);
    ipfence_matcher_free(copied);
    ipfence_matcher_free(borrowed);
    free(odd);

    /* 3. Many threads on one matcher. */
    test_threads(m);

    /* 4. Every error path, then the features. */
    test_errors(data_dir, m);
    test_features(data_dir, m);
    test_verify_bot(data_dir);

    ipfence_matcher_free(m);
    free_expected();
    printf("test_ffi: %d checks, %d failures, %zu addresses cross-checked with ipfence lookup --json\n",
           checks, failures, n_expects);
    return failures == 0 ? 0 : 1;
}
