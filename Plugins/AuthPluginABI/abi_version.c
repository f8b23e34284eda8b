#include "paddock_auth_plugin.h"

const uint32_t paddock_auth_plugin_abi_version = PADDOCK_AUTH_PLUGIN_ABI_VERSION;
