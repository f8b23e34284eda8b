/*
 * zkc: a small driver over the ZooKeeper C client (libzookeeper_mt) for the
 * integration tests.  Built once per test session at test time (c_client.py)
 * and used by test_c_client.py, test_acl.py and test_auth_plugins.py.
 *
 * usage: zkc host:port < commands
 * One command per line, tokens separated by single spaces.  "-" as data
 * means NULL.  Each command prints exactly one line: its name, rc=<int>,
 * err=<zerror text with '_' for spaces> and key=value fields.  Watch events
 * print as events=<type>:<state>:<path>,... in the line of the `wait` that
 * collects them.
 *
 *   create <path> <data> <flags> [<acl>]   flags: ZOO_EPHEMERAL=1, SEQUENCE=2;
 *                                           acl: "open" (the default) or
 *                                           perms:scheme:id[,perms:scheme:id...]
 *                                           (the id is everything after the second ':')
 *   create2 <path> <data> <flags> [<acl>]  prints the new node's stat too
 *   get <path> [watch]                     data as hex, stat
 *   set <path> <data> <version>            stat
 *   delete <path> <version>
 *   exists <path> [watch]                  stat
 *   ls <path> [watch]                      children, comma-separated
 *   getacl <path>                          acl=perms:scheme:id,... version= aversion=
 *   setacl <path> <version> <acl>
 *   multi <op> [<op> ...]                  ops: c:<path> (create, open acl), s:<path> (set "x"),
 *                                           d:<path> (delete), k:<path>:<version> (check);
 *                                           prints ops=<err>,<err>,...
 *   addauth <scheme> <credential>          zoo_add_auth; waits for its completion (rc is the
 *                                           completion's), prints state=<zoo_state> after it
 *   state                                  zoo_state (3 connected, -113 auth failed)
 *   session                                session id in hex
 *   wait <count> <seconds>                 waits for <count> watch events
 */

#define THREADED 1 /* the synchronous API of libzookeeper_mt */
#include <zookeeper/zookeeper.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>

#define EVENTS_MAX 64
#define LINE_BYTES_MAX 8192
#define DATA_BYTES_MAX 65536
#define ACL_ENTRIES_MAX 16
#define ARGS_MAX 16 /* also the most ops of one `multi` */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int connected = 0;
static int expired = 0;
static struct { int type, state; char path[512]; } events[EVENTS_MAX];
static int events_count = 0;
static int events_printed = 0;
static int auth_done = 0;
static int auth_rc = 0;

static void deadline_in(struct timespec *ts, int seconds) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += seconds;
}

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh; (void)path; (void)ctx;
    pthread_mutex_lock(&lock);
    if (type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE) connected = 1;
        if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) expired = 1;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void node_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh; (void)ctx;
    pthread_mutex_lock(&lock);
    if (events_count < EVENTS_MAX) {
        events[events_count].type = type;
        events[events_count].state = state;
        snprintf(events[events_count].path, sizeof events[0].path, "%s", path ? path : "");
        events_count++;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void auth_completion(int rc, const void *data) {
    (void)data;
    pthread_mutex_lock(&lock);
    auth_rc = rc;
    auth_done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void print_stat(const struct Stat *s) {
    printf(" czxid=%lld mzxid=%lld ctime=%lld mtime=%lld version=%d cversion=%d aversion=%d"
           " ephemeralOwner=%lld dataLength=%d numChildren=%d pzxid=%lld",
           (long long)s->czxid, (long long)s->mzxid, (long long)s->ctime, (long long)s->mtime,
           s->version, s->cversion, s->aversion, (long long)s->ephemeralOwner,
           s->dataLength, s->numChildren, (long long)s->pzxid);
}

/* zerror text with spaces turned into '_' so each field stays one token */
static void print_rc(const char *cmd, int rc) {
    printf("%s rc=%d err=", cmd, rc);
    for (const char *p = zerror(rc); *p; p++) putchar(*p == ' ' ? '_' : *p);
}

static const char *data_arg(const char *tok, int *len) {
    if (tok == NULL || strcmp(tok, "-") == 0) { *len = -1; return NULL; }
    *len = (int)strlen(tok);
    return tok;
}

static int wants_watch(const char *tok) { return tok != NULL && strcmp(tok, "watch") == 0; }

/* Parses "open" or perms:scheme:id[,...] into acl (entries point into spec, which is modified). */
static int parse_acl(char *spec, struct ACL_vector *acl, struct ACL *entries) {
    if (spec == NULL) return -1;
    if (strcmp(spec, "open") == 0) { *acl = ZOO_OPEN_ACL_UNSAFE; return 0; }
    int count = 0;
    char *save = NULL;
    for (char *item = strtok_r(spec, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        if (count == ACL_ENTRIES_MAX) return -1;
        char *first = strchr(item, ':');
        if (first == NULL) return -1;
        char *second = strchr(first + 1, ':');
        if (second == NULL) return -1;
        *first = '\0';
        *second = '\0';
        entries[count].perms = atoi(item);
        entries[count].id.scheme = first + 1;
        entries[count].id.id = second + 1;
        count++;
    }
    acl->count = count;
    acl->data = entries;
    return 0;
}

static void print_acl(const struct ACL_vector *acl) {
    printf(" acl=");
    for (int i = 0; i < acl->count; i++) {
        printf("%s%d:%s:%s", i ? "," : "", acl->data[i].perms, acl->data[i].id.scheme, acl->data[i].id.id);
    }
}

static void run(zhandle_t *zh, char *line) {
    char *save = NULL;
    char *cmd = strtok_r(line, " ", &save);
    if (cmd == NULL) return;
    char *args[ARGS_MAX];
    int argc = 0;
    for (char *t = strtok_r(NULL, " ", &save); t != NULL && argc < ARGS_MAX; t = strtok_r(NULL, " ", &save)) {
        args[argc++] = t;
    }
    for (int i = argc; i < ARGS_MAX; i++) args[i] = NULL;
    char *a1 = args[0], *a2 = args[1], *a3 = args[2], *a4 = args[3];

    if (strcmp(cmd, "create") == 0 || strcmp(cmd, "create2") == 0) {
        struct ACL_vector acl;
        struct ACL entries[ACL_ENTRIES_MAX];
        char created[1024] = "";
        struct Stat stat;
        int len;
        const char *data = data_arg(a2, &len);
        int flags = a3 ? atoi(a3) : 0;
        if (a4 == NULL) {
            acl = ZOO_OPEN_ACL_UNSAFE;
        } else if (parse_acl(a4, &acl, entries) != 0) {
            printf("%s rc=-998 err=bad-acl-spec\n", cmd);
            fflush(stdout);
            return;
        }
        int rc = strcmp(cmd, "create2") == 0
            ? zoo_create2(zh, a1, data, len, &acl, flags, created, sizeof created, &stat)
            : zoo_create(zh, a1, data, len, &acl, flags, created, sizeof created);
        print_rc(cmd, rc);
        if (rc == ZOK) {
            printf(" path=%s", created);
            if (strcmp(cmd, "create2") == 0) print_stat(&stat);
        }
    } else if (strcmp(cmd, "get") == 0) {
        static char buf[DATA_BYTES_MAX];
        int len = sizeof buf;
        struct Stat stat;
        int rc = wants_watch(a2) ? zoo_wget(zh, a1, node_watcher, NULL, buf, &len, &stat)
                                 : zoo_get(zh, a1, 0, buf, &len, &stat);
        print_rc(cmd, rc);
        if (rc == ZOK) {
            printf(" len=%d data=", len);
            for (int i = 0; i < len; i++) printf("%02x", (unsigned char)buf[i]);
            print_stat(&stat);
        }
    } else if (strcmp(cmd, "set") == 0) {
        struct Stat stat;
        int len;
        const char *data = data_arg(a2, &len);
        int rc = zoo_set2(zh, a1, data, len, a3 ? atoi(a3) : -1, &stat);
        print_rc(cmd, rc);
        if (rc == ZOK) print_stat(&stat);
    } else if (strcmp(cmd, "delete") == 0) {
        print_rc(cmd, zoo_delete(zh, a1, a2 ? atoi(a2) : -1));
    } else if (strcmp(cmd, "exists") == 0) {
        struct Stat stat;
        int rc = wants_watch(a2) ? zoo_wexists(zh, a1, node_watcher, NULL, &stat)
                                 : zoo_exists(zh, a1, 0, &stat);
        print_rc(cmd, rc);
        if (rc == ZOK) print_stat(&stat);
    } else if (strcmp(cmd, "ls") == 0) {
        struct String_vector children = {0, NULL};
        int rc = wants_watch(a2) ? zoo_wget_children(zh, a1, node_watcher, NULL, &children)
                                 : zoo_get_children(zh, a1, 0, &children);
        print_rc(cmd, rc);
        if (rc == ZOK) {
            printf(" count=%d children=", children.count);
            for (int i = 0; i < children.count; i++) printf("%s%s", i ? "," : "", children.data[i]);
            deallocate_String_vector(&children);
        }
    } else if (strcmp(cmd, "getacl") == 0) {
        struct ACL_vector acl = {0, NULL};
        struct Stat stat;
        int rc = zoo_get_acl(zh, a1, &acl, &stat);
        print_rc(cmd, rc);
        if (rc == ZOK) {
            print_acl(&acl);
            printf(" version=%d aversion=%d", stat.version, stat.aversion);
            deallocate_ACL_vector(&acl);
        }
    } else if (strcmp(cmd, "setacl") == 0) {
        struct ACL_vector acl;
        struct ACL entries[ACL_ENTRIES_MAX];
        if (parse_acl(a3, &acl, entries) != 0) {
            printf("setacl rc=-998 err=bad-acl-spec\n");
            fflush(stdout);
            return;
        }
        print_rc(cmd, zoo_set_acl(zh, a1, a2 ? atoi(a2) : -1, &acl));
    } else if (strcmp(cmd, "multi") == 0) {
        zoo_op_t ops[ARGS_MAX];
        zoo_op_result_t results[ARGS_MAX];
        static char created[ARGS_MAX][1024];
        struct Stat stats[ARGS_MAX];
        int n = 0;
        for (; n < argc; n++) {
            char kind = args[n][0];
            char *path = args[n] + 2;
            if (kind == 'c') {
                zoo_create_op_init(&ops[n], path, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, created[n], sizeof created[n]);
            } else if (kind == 's') {
                zoo_set_op_init(&ops[n], path, "x", 1, -1, &stats[n]);
            } else if (kind == 'd') {
                zoo_delete_op_init(&ops[n], path, -1);
            } else if (kind == 'k') {
                char *colon = strrchr(path, ':');
                int version = -1;
                if (colon != NULL) { *colon = '\0'; version = atoi(colon + 1); }
                zoo_check_op_init(&ops[n], path, version);
            } else {
                printf("multi rc=-998 err=bad-op\n");
                fflush(stdout);
                return;
            }
        }
        int rc = zoo_multi(zh, n, ops, results);
        print_rc(cmd, rc);
        printf(" ops=");
        for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", results[i].err);
    } else if (strcmp(cmd, "addauth") == 0) {
        const char *cred = a2 ? a2 : "";
        pthread_mutex_lock(&lock);
        auth_done = 0;
        pthread_mutex_unlock(&lock);
        int rc = zoo_add_auth(zh, a1, cred, (int)strlen(cred), auth_completion, NULL);
        if (rc == ZOK) {
            struct timespec ts;
            deadline_in(&ts, 10);
            pthread_mutex_lock(&lock);
            while (!auth_done) {
                if (pthread_cond_timedwait(&changed, &lock, &ts) == ETIMEDOUT) break;
            }
            rc = auth_done ? auth_rc : ZOPERATIONTIMEOUT;
            pthread_mutex_unlock(&lock);
        }
        print_rc(cmd, rc);
        printf(" state=%d", zoo_state(zh));
    } else if (strcmp(cmd, "state") == 0) {
        printf("state rc=0 err=ok state=%d", zoo_state(zh));
    } else if (strcmp(cmd, "session") == 0) {
        const clientid_t *id = zoo_client_id(zh);
        printf("session rc=0 err=ok id=%llx", (long long)id->client_id);
    } else if (strcmp(cmd, "wait") == 0) {
        int want = a1 ? atoi(a1) : 1;
        struct timespec ts;
        deadline_in(&ts, a2 ? atoi(a2) : 10);
        pthread_mutex_lock(&lock);
        while (events_count - events_printed < want) {
            if (pthread_cond_timedwait(&changed, &lock, &ts) == ETIMEDOUT) break;
        }
        int got = events_count - events_printed;
        printf("wait rc=%d err=%s count=%d events=", got >= want ? 0 : -7, got >= want ? "ok" : "timeout", got);
        for (int first = 1; events_printed < events_count; events_printed++, first = 0) {
            printf("%s%d:%d:%s", first ? "" : ",", events[events_printed].type,
                   events[events_printed].state, events[events_printed].path);
        }
        pthread_mutex_unlock(&lock);
    } else {
        printf("%s rc=-999 err=unknown-command", cmd);
    }
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s host:port < commands\n", argv[0]);
        return 2;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(argv[1], session_watcher, 10000, NULL, NULL, 0);
    if (zh == NULL) {
        perror("zookeeper_init");
        return 1;
    }
    struct timespec ts;
    deadline_in(&ts, 15);
    pthread_mutex_lock(&lock);
    while (!connected && !expired) {
        if (pthread_cond_timedwait(&changed, &lock, &ts) == ETIMEDOUT) break;
    }
    int ok = connected;
    pthread_mutex_unlock(&lock);
    if (!ok) {
        fprintf(stderr, "zkc: not connected within 15s\n");
        zookeeper_close(zh);
        return 1;
    }
    printf("connected rc=0 err=ok\n");
    fflush(stdout);

    char line[LINE_BYTES_MAX];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        run(zh, line);
    }
    int rc = zookeeper_close(zh);
    print_rc("close", rc);
    printf("\n");
    return 0;
}
