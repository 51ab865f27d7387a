/*
 * config_test.c: tensorflow_model_server flags (both --f=v and --f v),
 * text ModelServerConfig parsing (policies, labels) and TF Serving's
 * validation errors; the status/HTTP code tables of service.h; every
 * tensorflow_model_server flag accepted; the security flags (SSLConfig
 * text proto, token files, the admin gate and constant-time bearer
 * check of serve/auth.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "serve/auth.h"
#include "serve/config.h"
#include "serve/service.h"
#include "test_util.h"

static void test_flags(void **state) {
    (void)state;
    char *argv[] = {"cfx-serve",
                    "--port=9000",
                    "--rest_api_port",
                    "9001",
                    "--model_name=taxi",
                    "--model_base_path",
                    "/srv/taxi",
                    "--enable_model_warmup=false",
                    "--num_threads",
                    "3",
                    "--max_body_bytes=1000",
                    "--access_log=-"};
    cfx_serve_flags_t f;
    cfx_serve_flags_init(&f);
    cfx_error_t err;
    cfx_error_init(&err);
    assert_int_equal(cfx_serve_flags_parse(&f, 12, argv, &err), 0);
    assert_int_equal(f.port, 9000);
    assert_int_equal(f.rest_api_port, 9001);
    assert_string_equal(f.model_name, "taxi");
    assert_string_equal(f.model_base_path, "/srv/taxi");
    assert_int_equal(f.enable_model_warmup, 0);
    assert_int_equal(f.num_threads, 3);
    assert_int_equal(f.max_body_bytes, 1000);
    assert_int_equal(f.file_system_poll_wait_seconds, 1);
    assert_int_equal(f.rest_api_timeout_in_ms, 30000);
    cfx_model_list_t l;
    assert_int_equal(cfx_serve_flags_models(&f, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.models[0].name, "taxi");
    assert_int_equal(l.models[0].policy, CFX_POLICY_LATEST);
    assert_int_equal(l.models[0].num_versions, 1);
    cfx_model_list_free(&l);
    cfx_serve_flags_free(&f);

    char *bad1[] = {"x", "--model_base_path=/a", "--bogus=1"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 3, bad1, &err), CFX_EINVAL);
    assert_string_equal(err.msg, "unknown flag --bogus");
    cfx_serve_flags_free(&f);
    char *bad2[] = {"x", "--model_base_path=/a", "--port=70000"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 3, bad2, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "--port"));
    cfx_serve_flags_free(&f);
    char *bad3[] = {"x"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 1, bad3, &err), CFX_EINVAL);
    assert_non_null(strstr(err.msg, "are empty"));
    cfx_serve_flags_free(&f);
    char *bad4[] = {"x", "--model_base_path=/a", "--port=8",
                    "--rest_api_port=8"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 4, bad4, &err), CFX_EINVAL);
    cfx_serve_flags_free(&f);
    /* TF Serving flags cfx-serve ignores, bare booleans */
    char *tf[] = {"x",
                  "--model_base_path=/a",
                  "--enable_batching",
                  "--rest_api_enable_cors_support",
                  "--num_load_threads",
                  "4",
                  "--enable_model_warmup",
                  "false",
                  "--port",
                  "7"};
    cfx_serve_flags_init(&f);
    assert_int_equal(cfx_serve_flags_parse(&f, 10, tf, &err), 0);
    assert_int_equal(f.rest_api_enable_cors_support, 1);
    assert_int_equal(f.enable_model_warmup, 0);
    assert_int_equal(f.port, 7);
    cfx_serve_flags_free(&f);
    /* relative base path */
    assert_int_equal(cfx_model_list_single(&l, "m", "rel/path", &err),
                     CFX_EINVAL);
    assert_non_null(strstr(err.msg, "absolute path"));
}

static const char CONFIG[] =
    "model_config_list {\n"
    "  config {\n"
    "    name: \"a\" base_path: \"/models/a\" model_platform: \"tensorflow\"\n"
    "    model_version_policy { latest { num_versions: 2 } }\n"
    "    version_labels { key: \"stable\" value: 42 }\n"
    "    version_labels { key: \"canary\" value: 43 }\n"
    "  }\n"
    "  config {\n"
    "    name: \"b\" base_path: \"/models/b\" model_platform: \"tensorflow\"\n"
    "    model_version_policy { specific { versions: 7 versions: 9 } }\n"
    "  }\n"
    "  config {\n"
    "    name: \"c\" base_path: \"/models/c\" model_platform: \"tensorflow\"\n"
    "    model_version_policy { all {} }\n"
    "  }\n"
    "}\n";

static void test_text_config(void **state) {
    (void)state;
    cfx_model_list_t l;
    cfx_error_t err;
    cfx_error_init(&err);
    int rc =
        cfx_model_list_parse_text(&l, CONFIG, sizeof(CONFIG) - 1, "t", &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.models[0].name, "a");
    assert_int_equal(l.models[0].policy, CFX_POLICY_LATEST);
    assert_int_equal(l.models[0].num_versions, 2);
    assert_int_equal(l.models[0].n_labels, 2);
    assert_string_equal(l.models[0].labels[1].label, "canary");
    assert_int_equal(l.models[0].labels[1].version, 43);
    assert_int_equal(l.models[1].policy, CFX_POLICY_SPECIFIC);
    assert_int_equal(l.models[1].n_versions, 2);
    assert_int_equal(l.models[1].versions[1], 9);
    assert_int_equal(l.models[2].policy, CFX_POLICY_ALL);
    cfx_model_list_t copy;
    assert_int_equal(cfx_model_list_copy(&copy, &l), 0);
    assert_string_equal(copy.models[0].labels[0].label, "stable");
    cfx_model_list_free(&copy);
    cfx_model_list_free(&l);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"model_config_list { config { name: \"a\" base_path: \"/x\" "
         "model_platform: \"tensorflow\" } config { name: \"a\" base_path: "
         "\"/y\" model_platform: \"tensorflow\" } }",
         "Illegal to list model a multiple times"},
        {"model_config_list { config { name: \"a\" base_path: \"x\" "
         "model_platform: \"tensorflow\" } }",
         "absolute path"},
        {"model_config_list { config { name: \"a\" base_path: \"/x\" } }",
         "model_platform"},
        {"model_config_list { config { name: \"a\" bogus: 1 } }", "bogus"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfx_error_init(&err);
        rc = cfx_model_list_parse_text(&l, bad[i].text, strlen(bad[i].text),
                                       "cfg", &err);
        assert_int_not_equal(rc, 0);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
    }
}

/* Every flag of tensorflow_model_server (main.cc at TF Serving 9d981c5)
 * parses: a meaning here, or a warning. */
static void test_tf_serving_flags(void **state) {
    (void)state;
    char *argv[] = {"cfx-serve",
                    "--model_base_path=/m",
                    "--port=8500",
                    "--grpc_socket_path=",
                    "--rest_api_port=8501",
                    "--rest_api_num_threads=4",
                    "--rest_api_timeout_in_ms=100",
                    "--rest_api_enable_cors_support=true",
                    "--enable_batching",
                    "--allow_version_labels_for_unavailable_models=false",
                    "--batching_parameters_file=/b",
                    "--enable_per_model_batching_parameters=true",
                    "--model_config_file_poll_wait_seconds=0",
                    "--model_name=m",
                    "--num_load_threads=1",
                    "--num_unload_threads=1",
                    "--max_num_load_retries=5",
                    "--load_retry_interval_micros=10",
                    "--file_system_poll_wait_seconds=1",
                    "--flush_filesystem_caches=true",
                    "--tensorflow_session_parallelism=0",
                    "--tensorflow_session_config_file=/s",
                    "--tensorflow_intra_op_parallelism=0",
                    "--tensorflow_inter_op_parallelism=0",
                    "--use_alts_credentials=false",
                    "--platform_config_file=/p",
                    "--per_process_gpu_memory_fraction=0.5",
                    "--saved_model_tags=serve",
                    "--grpc_channel_arguments=a=1",
                    "--grpc_max_threads=4",
                    "--enable_model_warmup=true",
                    "--num_request_iterations_for_warmup=1",
                    "--version=false",
                    "--monitoring_config_file=",
                    "--remove_unused_fields_from_bundle_metagraph=true",
                    "--prefer_tflite_model=false",
                    "--num_tflite_pools=1",
                    "--num_tflite_interpreters_per_pool=1",
                    "--enable_signature_method_name_check=false",
                    "--xla_cpu_compilation_enabled=false",
                    "--xla_gpu_compilation_enabled=false",
                    "--enable_profiler=true",
                    "--thread_pool_factory_config_file=/t",
                    "--mixed_precision=bfloat16",
                    "--skip_initialize_tpu=true",
                    "--enable_grpc_healthcheck_service=true",
                    "--enable_serialization_as_tensor_content=true"};
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    cfx_serve_flags_t f;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_serve_flags_init(&f);
    int rc = cfx_serve_flags_parse(&f, argc, argv, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_null(f.grpc_socket_path); /* "" is TF Serving's "none" */
    assert_null(f.prometheus_path);  /* so is an empty monitoring file */
    assert_int_equal(f.rest_api_timeout_in_ms, 100);
    cfx_serve_flags_free(&f);
    /* Not a TF Serving flag and not ours: still an error. */
    char *bad[] = {"cfx-serve", "--model_base_path=/m", "--portt=1"};
    cfx_serve_flags_init(&f);
    assert_int_not_equal(cfx_serve_flags_parse(&f, 3, bad, &err), 0);
    assert_non_null(strstr(err.msg, "unknown flag --portt"));
    cfx_serve_flags_free(&f);
}

static void test_security_flags(void **state) {
    (void)state;
    char dir[256], ssl[300], tok[300], itok[300];
    assert_int_equal(cfx_test_tmpdir_make(dir, sizeof(dir), "cfgsec"), 0);
    snprintf(ssl, sizeof(ssl), "%s/ssl.conf", dir);
    snprintf(tok, sizeof(tok), "%s/admin.token", dir);
    snprintf(itok, sizeof(itok), "%s/infer.token", dir);
    cfx_test_write_file(ssl, "server_key: \"-----BEGIN PRIVATE KEY-----\\n\"\n"
                             "server_cert: \"CERT\"\ncustom_ca: \"CA\"\n"
                             "client_verify: true\n");
    cfx_test_write_file(tok, "abc-123\n");
    chmod(tok, 0600);
    cfx_test_write_file(itok, "inf\n");
    chmod(itok, 0600);
    char a_ssl[400], a_tok[400], a_itok[400];
    snprintf(a_ssl, sizeof(a_ssl), "--ssl_config_file=%s", ssl);
    snprintf(a_tok, sizeof(a_tok), "--admin_token_file=%s", tok);
    snprintf(a_itok, sizeof(a_itok), "--inference_token_file=%s", itok);
    char *argv[] = {"cfx-serve",
                    "--model_base_path=/m",
                    a_ssl,
                    a_tok,
                    a_itok,
                    "--enable_admin_rpc",
                    "--grpc_bind_address=127.0.0.1",
                    "--rest_api_bind_address",
                    "::1",
                    "--user=nobody",
                    "--first_byte_timeout_seconds=3",
                    "--max_connections_per_client=7"};
    cfx_serve_flags_t f;
    cfx_error_t err;
    cfx_error_init(&err);
    cfx_serve_flags_init(&f);
    assert_int_equal(f.first_byte_timeout_seconds, 5);
    assert_int_equal(f.enable_admin_rpc, 0);
    int rc = cfx_serve_flags_parse(&f, 12, argv, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(f.have_ssl, 1);
    assert_string_equal(f.ssl.server_key, "-----BEGIN PRIVATE KEY-----\n");
    assert_string_equal(f.ssl.server_cert, "CERT");
    assert_string_equal(f.ssl.custom_ca, "CA");
    assert_int_equal(f.ssl.client_verify, 1);
    assert_string_equal(f.admin_token, "abc-123");
    assert_string_equal(f.inference_token, "inf");
    assert_string_equal(f.grpc_bind_address, "127.0.0.1");
    assert_string_equal(f.rest_api_bind_address, "::1");
    assert_string_equal(f.user, "nobody");
    assert_int_equal(f.first_byte_timeout_seconds, 3);
    assert_int_equal(f.max_connections_per_client, 7);

    /* The gates. */
    char why[256];
    cfx_auth_peer_t none = {NULL, 0, 0}, good = {"Bearer abc-123", 0, 0},
                    lower = {"bearer   abc-123", 0, 0},
                    longer = {"Bearer abc-1234", 0, 0},
                    shorter = {"Bearer abc-12", 0, 0},
                    basic = {"Basic abc-123", 0, 0}, inf = {"Bearer inf", 0, 0},
                    sock = {NULL, 1, 0}, cert = {NULL, 0, 1};
    assert_int_equal(cfx_auth_admin(&f, &none, why, sizeof(why)), 16);
    assert_int_equal(cfx_auth_admin(&f, &good, why, sizeof(why)), 0);
    assert_int_equal(cfx_auth_admin(&f, &lower, why, sizeof(why)), 0);
    assert_int_equal(cfx_auth_admin(&f, &longer, why, sizeof(why)), 16);
    assert_int_equal(cfx_auth_admin(&f, &shorter, why, sizeof(why)), 16);
    assert_int_equal(cfx_auth_admin(&f, &basic, why, sizeof(why)), 16);
    assert_int_equal(cfx_auth_admin(&f, &inf, why, sizeof(why)), 16);
    assert_int_equal(cfx_auth_admin(&f, &sock, why, sizeof(why)), 0);
    assert_int_equal(cfx_auth_admin(&f, &cert, why, sizeof(why)), 0);
    assert_int_equal(cfx_auth_inference(&f, &none, why, sizeof(why)), 16);
    assert_int_equal(cfx_auth_inference(&f, &inf, why, sizeof(why)), 0);
    assert_int_equal(cfx_auth_inference(&f, &good, why, sizeof(why)), 0);
    assert_int_equal(cfx_auth_inference(&f, &shorter, why, sizeof(why)), 16);
    f.enable_admin_rpc = 0; /* off: even the token is refused */
    assert_int_equal(cfx_auth_admin(&f, &good, why, sizeof(why)), 7);
    assert_int_equal(cfx_auth_admin(&f, &sock, why, sizeof(why)), 7);
    assert_non_null(strstr(why, "--enable_admin_rpc"));
    cfx_serve_flags_free(&f);

    /* Refusals, each naming what is wrong. */
    static const struct {
        const char *text; /* ssl.conf content */
        const char *want;
    } bad_ssl[] = {
        {"server_key: \"k\"\n", "server_key and server_cert"},
        {"server_key: \"k\" server_cert: \"c\" client_verify: true\n",
         "client_verify needs custom_ca"},
        {"server_key: \"k\"\nserver_crt: \"c\"\n",
         "2:1: unknown field 'server_crt'"},
    };
    for (size_t i = 0; i < sizeof(bad_ssl) / sizeof(bad_ssl[0]); i++) {
        cfx_test_write_file(ssl, bad_ssl[i].text);
        char *a2[] = {"cfx-serve", "--model_base_path=/m", a_ssl};
        cfx_serve_flags_init(&f);
        assert_int_not_equal(cfx_serve_flags_parse(&f, 3, a2, &err), 0);
        if (!strstr(err.msg, bad_ssl[i].want) || !strstr(err.msg, "ssl.conf"))
            fail_msg("case %zu: %s", i, err.msg);
        cfx_serve_flags_free(&f);
    }
    chmod(tok, 0644);
    char *a3[] = {"cfx-serve", "--model_base_path=/m", "--enable_admin_rpc",
                  a_tok};
    cfx_serve_flags_init(&f);
    assert_int_not_equal(cfx_serve_flags_parse(&f, 4, a3, &err), 0);
    assert_non_null(strstr(err.msg, "readable by other users"));
    cfx_serve_flags_free(&f);
    chmod(tok, 0600);
    cfx_test_write_file(tok, "two words\n");
    chmod(tok, 0600);
    cfx_serve_flags_init(&f);
    assert_int_not_equal(cfx_serve_flags_parse(&f, 4, a3, &err), 0);
    assert_non_null(strstr(err.msg, ":1: the token may hold only"));
    cfx_serve_flags_free(&f);
    char *a4[] = {"cfx-serve", "--model_base_path=/m", "--enable_admin_rpc"};
    cfx_serve_flags_init(&f);
    assert_int_not_equal(cfx_serve_flags_parse(&f, 3, a4, &err), 0);
    assert_non_null(strstr(err.msg, "needs a way to authenticate"));
    cfx_serve_flags_free(&f);
    char *a5[] = {"cfx-serve", "--model_base_path=/m", a_tok};
    cfx_test_write_file(tok, "ok\n");
    chmod(tok, 0600);
    cfx_serve_flags_init(&f);
    assert_int_not_equal(cfx_serve_flags_parse(&f, 3, a5, &err), 0);
    assert_non_null(strstr(err.msg, "add --enable_admin_rpc"));
    cfx_serve_flags_free(&f);
    cfx_test_rm_rf(dir);
}

static void test_codes(void **state) {
    (void)state;
    /* TF Serving's table (docs/serving.md). */
    static const int http[17] = {200, 499, 500, 400, 504, 404, 409, 403, 429,
                                 400, 409, 400, 501, 500, 503, 500, 401};
    for (int c = 0; c <= 16; c++)
        assert_int_equal(cfx_service_http_status(c), http[c]);
    assert_string_equal(cfx_service_tf_code_name(9), "FAILED_PRECONDITION");
    assert_int_equal(cfx_service_tf_code(CFX_ENOTFOUND), 5);
    assert_int_equal(cfx_service_tf_code(CFX_EINVAL), 3);
    assert_int_equal(cfx_service_tf_code(CFX_ESTATE), 9);
    assert_int_equal(cfx_service_tf_code(CFX_ECHECKSUM), 15);
    assert_int_equal(cfx_service_tf_code(CFX_EUNAVAILABLE), 14);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_text_config),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_tf_serving_flags),
        cmocka_unit_test(test_security_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
