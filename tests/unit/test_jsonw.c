/* tests/unit/test_jsonw: the JSON text writer (commas, nesting, escaping,
 * raw values) and the intent rendered through it, parsed back by jansson. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"
#include "core/catalog.h"
#include "core/render.h"

Test(jsonw, nested_objects_and_arrays)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_begin_object(&w);
	jsonw_key(&w, "a");
	jsonw_int(&w, -5);
	jsonw_key(&w, "list");
	jsonw_begin_array(&w);
	jsonw_int(&w, 1);
	jsonw_begin_object(&w);
	jsonw_key(&w, "x");
	jsonw_null(&w);
	jsonw_end_object(&w);
	jsonw_bool(&w, true);
	jsonw_end_array(&w);
	jsonw_key(&w, "raw");
	jsonw_raw(&w, "{\"k\":\"v\"}");
	jsonw_key(&w, "s");
	jsonw_string_or_null(&w, "");
	jsonw_end_object(&w);
	char *text = jsonw_take(&w);
	cr_assert_str_eq(text, "{\"a\":-5,\"list\":[1,{\"x\":null},true],\"raw\":{\"k\":\"v\"},\"s\":null}");
	free(text);
}

Test(jsonw, strings_are_escaped)
{
	struct jsonw w;
	jsonw_init(&w);
	jsonw_begin_array(&w);
	jsonw_string(&w, "q\"b\\n\nt\tc\x01 中文");
	jsonw_end_array(&w);
	char *text = jsonw_take(&w);
	json_error_t err;
	json_t *back = json_loads(text, 0, &err);
	cr_assert_not_null(back, "%s: %s", text, err.text);
	cr_assert_str_eq(json_string_value(json_array_get(back, 0)), "q\"b\\n\nt\tc\x01 中文");
	json_decref(back);
	free(text);
}

Test(jsonw, intent_text_is_valid_json_with_its_fields)
{
	struct payment_intent pi = {.amount = 2000, .status = PI_REQUIRES_PAYMENT_METHOD,
				    .last_error_code = CAT_INSUFFICIENT_FUNDS, .created_ms = 5000};
	strcpy(pi.id, "pi_x");
	strcpy(pi.currency, "CNY");
	strcpy(pi.last_error_attempt_id, "ch_1");
	pi.description = strdup("order \"7\"");
	pi.metadata_json = strdup("{\"order\":\"7\"}");
	struct payment_attempt a = {.seq = 1, .status = ATT_FAILED, .amount = 2000,
				    .code = CAT_INSUFFICIENT_FUNDS, .latency_ms = -1};
	strcpy(a.id, "ch_1");
	strcpy(a.channel, "sandbox");
	a.method.type = PM_CARD;
	strcpy(a.method.brand, "visa");
	strcpy(a.method.last4, "9995");
	char *text = render_intent_text(&pi, &a, 1, "zh-CN");
	json_t *o = json_loads(text, 0, NULL);
	cr_assert_not_null(o, "%s", text);
	cr_assert_str_eq(json_string_value(json_object_get(o, "currency")), "cny");
	cr_assert_str_eq(json_string_value(json_object_get(o, "description")), "order \"7\"");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "metadata"), "order")), "7");
	json_t *err = json_object_get(o, "last_payment_error");
	cr_assert_eq(json_integer_value(json_object_get(err, "payd_code")), 101);
	cr_assert_str_eq(json_string_value(json_object_get(err, "decline_code")), "insufficient_funds");
	cr_assert_str_eq(json_string_value(json_object_get(err, "user_message")),
			 catalog_get(CAT_INSUFFICIENT_FUNDS)->message_zh);
	json_t *att = json_array_get(json_object_get(o, "attempts"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(att, "code")), "insufficient_funds");
	cr_assert(json_is_null(json_object_get(att, "latency_ms")));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(att, "payment_method"), "card"), "last4")), "9995");
	cr_assert_eq(json_integer_value(json_object_get(o, "created")), 5);
	json_decref(o);
	free(text);
	payment_intent_clear(&pi);
}
