/*
 * An appliance's address check: maps a compiled blob (`ipfence compile --output F`) into
 * memory without copying it, reads addresses from stdin, one per line, and prints
 *
 *     allow <ip> <prefix> <provider> <service> <region> <extra>   (first published tag
 *                                                                  set; "-" for an empty tag;
 *                                                                  extra: AWS network border
 *                                                                  group, ...)
 *     deny <ip>
 *
 * Build: cc -std=c11 appliance.c $(pkg-config --cflags --libs ipfence) -o appliance
 * Run:   ipfence compile --output aws.blob && ./appliance aws.blob < addresses.txt
 * Exit:  0, or 2 when the blob cannot be loaded or a line is not an address.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipfence.h"

static void print_tag(ipfence_str s) {
    if (s.len == 0)
        fputs(" -", stdout);
    else
        printf(" %.*s", (int)s.len, s.data);
}

static void fail(const char *what) {
    char msg[512];
    size_t needed;
    if (ipfence_last_error_message(msg, sizeof msg, &needed) != IPFENCE_RESULT_OK) msg[0] = 0;
    fprintf(stderr, "appliance: %s: %s\n", what, msg);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s BLOB < addresses\n", argv[0]);
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        perror(argv[1]);
        return 2;
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    /* Zero-copy: the mapping must outlive the matcher (unmapped after _free below). */
    ipfence_matcher *m = NULL;
    if (ipfence_matcher_from_blob_borrowed(map, len, &m) != IPFENCE_RESULT_OK) {
        fail(argv[1]);
        munmap(map, len);
        return 2;
    }

    int status = 0;
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == 0) continue;
        unsigned char addr[16];
        size_t alen = 4;
        if (inet_pton(AF_INET, line, addr) != 1) {
            alen = 16;
            if (inet_pton(AF_INET6, line, addr) != 1) {
                fprintf(stderr, "appliance: %s: not an IPv4 or IPv6 address\n", line);
                status = 2;
                continue;
            }
        }
        ipfence_match hit;
        bool found;
        if (ipfence_matcher_lookup(m, addr, alen, &hit, &found) != IPFENCE_RESULT_OK) {
            fail(line);
            status = 2;
            continue;
        }
        if (!found) {
            printf("deny %s\n", line);
            continue;
        }
        char net[INET6_ADDRSTRLEN];
        inet_ntop(hit.family == 4 ? AF_INET : AF_INET6, hit.addr, net, sizeof net);
        printf("allow %s %s/%u", line, net, hit.prefix_len);
        print_tag(hit.tags.provider);
        print_tag(hit.tags.service);
        print_tag(hit.tags.region);
        print_tag(hit.tags.extra);
        putchar('\n');
    }
    ipfence_matcher_free(m);
    munmap(map, len);
    return status;
}
