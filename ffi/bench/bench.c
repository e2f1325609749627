/*
 * Lookups per second through the C API, single calls and batches, on the real AWS file.
 * Measured exactly as bench/native.rs measures the same lookups in Rust (same files, same
 * loops, best of 15 runs of about 1,000,000 lookups); scripts/bench-ffi runs both, linked
 * statically and dynamically, and prints the call overhead and the batch ratio.
 *
 * usage: bench AWS_JSON V4_ADDRS V6_ADDRS
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipfence.h"

enum { RUNS = 15, TARGET_LOOKUPS = 1000000 };

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* Packed network-order addresses of one family from a file, one per line. */
static unsigned char *read_addrs(const char *path, int af, size_t *count) {
    size_t len;
    char *text = (char *)read_file(path, &len);
    size_t size = af == AF_INET ? 4 : 16, n = 0, cap = 1024;
    unsigned char *out = malloc(cap * size);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (n == cap) out = realloc(out, (cap *= 2) * size);
        if (inet_pton(af, line, out + n * size) == 1) n++;
    }
    free(text);
    *count = n;
    return out;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static volatile unsigned long sink;

static void report(const char *what, double ns) {
    printf("c-api  %s: %.2f ns/lookup (%.1f M lookups/s)\n", what, ns, 1e3 / ns);
}

static void check(ipfence_result r) {
    if (r != IPFENCE_RESULT_OK) {
        char msg[512];
        size_t needed;
        ipfence_last_error_message(msg, sizeof msg, &needed);
        fprintf(stderr, "bench: %s\n", msg);
        exit(1);
    }
}

/* Ns per lookup of one run of about TARGET_LOOKUPS lookups; `mode` picks the loop. */
static double run(const ipfence_matcher *m, const unsigned char *addrs, size_t size, size_t n,
                  int mode, bool *found, ipfence_match *matches) {
    size_t reps = TARGET_LOOKUPS / n > 0 ? TARGET_LOOKUPS / n : 1;
    {
        unsigned long acc = 0;
        double t0 = now_ns();
        for (size_t k = 0; k < reps; k++) {
            switch (mode) {
            case 0: /* contains, one call per address */
                for (size_t i = 0; i < n; i++) {
                    bool f;
                    check(ipfence_matcher_contains(m, addrs + i * size, size, &f));
                    acc += f;
                }
                break;
            case 1: /* contains, one call per batch */
                check(ipfence_matcher_contains_batch(m, addrs, size, n, found));
                for (size_t i = 0; i < n; i++) acc += found[i];
                break;
            case 2: /* lookup, one call per address */
                for (size_t i = 0; i < n; i++) {
                    ipfence_match x;
                    bool f;
                    check(ipfence_matcher_lookup(m, addrs + i * size, size, &x, &f));
                    if (f) acc += x.prefix_len + x.tags.service.len;
                }
                break;
            case 3: /* lookup, one call per batch */
                check(ipfence_matcher_lookup_batch(m, addrs, size, n, matches, found));
                for (size_t i = 0; i < n; i++)
                    if (found[i]) acc += matches[i].prefix_len + matches[i].tags.service.len;
                break;
            case 4: /* lookup, batches of 256 (a burst of packets) */
                for (size_t at = 0; at < n; at += 256) {
                    size_t len = n - at < 256 ? n - at : 256;
                    check(ipfence_matcher_lookup_batch(m, addrs + at * size, size, len, matches, found));
                    for (size_t i = 0; i < len; i++)
                        if (found[i]) acc += matches[i].prefix_len + matches[i].tags.service.len;
                }
                break;
            }
        }
        sink += acc;
        return (now_ns() - t0) / (double)(reps * n);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s AWS_JSON V4_ADDRS V6_ADDRS\n", argv[0]);
        return 2;
    }
    size_t len, n4, n6;
    unsigned char *json = read_file(argv[1], &len);
    ipfence_matcher *m = NULL;
    check(ipfence_matcher_from_source(json, len, argv[1], NULL, NULL, NULL, 0, &m));
    free(json);
    unsigned char *v4 = read_addrs(argv[2], AF_INET, &n4);
    unsigned char *v6 = read_addrs(argv[3], AF_INET6, &n6);
    size_t most = n4 > n6 ? n4 : n6;
    bool *found = malloc(most);
    ipfence_match *matches = malloc(most * sizeof *matches);

    /* Runs of every row take turns, so that a busy spell of a shared machine lands on
       all rows alike; each row keeps its best run. */
    static const char *const rows[] = {"contains single", "contains batch", "lookup single",
                                       "lookup batch", "lookup batch256"};
    double best[2][5];
    for (int fam = 0; fam < 2; fam++)
        for (int mode = 0; mode < 5; mode++) best[fam][mode] = 1e30;
    for (int r = 0; r < RUNS; r++) {
        for (int fam = 0; fam < 2; fam++) {
            for (int mode = 0; mode < 5; mode++) {
                double ns = fam ? run(m, v6, 16, n6, mode, found, matches)
                                : run(m, v4, 4, n4, mode, found, matches);
                if (ns < best[fam][mode]) best[fam][mode] = ns;
            }
        }
    }
    for (int fam = 0; fam < 2; fam++) {
        for (int mode = 0; mode < 5; mode++) {
            char what[64];
            snprintf(what, sizeof what, "%s %s", fam ? "v6" : "v4", rows[mode]);
            report(what, best[fam][mode]);
        }
    }

    free(found);
    free(matches);
    free(v4);
    free(v6);
    ipfence_matcher_free(m);
    return 0;
}
