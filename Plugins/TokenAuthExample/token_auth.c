/*
 * An example out-of-tree auth plugin: the `token` scheme. `addauth token alice:<token>`
 * authenticates as `alice` when the line `alice:<token>` is in the file named by the
 * PADDOCK_TOKEN_AUTH_FILE environment variable (read at each attempt, so tokens can be
 * rotated without a restart). ACL ids are user names, or `*` for any token holder.
 *
 * Build: the package builds it as libpaddock-token-auth.so; out of tree,
 *   cc -shared -fPIC -I Plugins/AuthPluginABI/include token_auth.c -o libtoken.so
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token_auth.h"

static int token_listed(const char *line, size_t length) {
    const char *path = getenv("PADDOCK_TOKEN_AUTH_FILE");
    if (path == NULL) return 0;
    FILE *file = fopen(path, "r");
    if (file == NULL) return 0;
    char entry[PADDOCK_AUTH_PLUGIN_ID_BYTES_MAX];
    int found = 0;
    while (!found && fgets(entry, sizeof entry, file) != NULL) {
        entry[strcspn(entry, "\r\n")] = '\0';
        found = strlen(entry) == length && memcmp(entry, line, length) == 0;
    }
    fclose(file);
    return found;
}

static int token_authenticate(const uint8_t *auth, size_t auth_length, const char *remote_host,
                              char *id_out, size_t id_capacity) {
    (void)remote_host;
    const uint8_t *colon = memchr(auth, ':', auth_length);
    if (colon == NULL || colon == auth) return 1;
    size_t user_length = (size_t)(colon - auth);
    if (user_length + 1 > id_capacity || !token_listed((const char *)auth, auth_length)) return 1;
    memcpy(id_out, auth, user_length);
    id_out[user_length] = '\0';
    return 0;
}

static int token_matches(const char *id, const char *expression) {
    return strcmp(expression, "*") == 0 || strcmp(id, expression) == 0;
}

static int token_is_valid(const char *expression) {
    return expression[0] != '\0' && strchr(expression, ':') == NULL;
}

static const paddock_auth_plugin token_plugin = {
    .abi_version = PADDOCK_AUTH_PLUGIN_ABI_VERSION,
    .scheme = "token",
    .is_authenticated = 1,
    .authenticate = token_authenticate,
    .matches = token_matches,
    .is_valid = token_is_valid,
};

const paddock_auth_plugin *paddock_auth_plugin_v1(void) { return &token_plugin; }
