// SPDX-License-Identifier: GPL-2.0
/* Stopping the VM (kvm/stop.c): who wins, the kick, the wait, --timeout. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "lkvm/kvm.h"

static int kicks;

static void count_kick(struct kvm *kvm)
{
	kicks++;
}

static void setup(struct kvm *kvm)
{
	*kvm = (struct kvm) { 0 };
	kvm_stop_init(&kvm->stop);
	kvm->stop.kick = count_kick;
	kicks = 0;
}

static void test_first_wins(void **state)
{
	static struct kvm kvm;

	setup(&kvm);
	assert_false(kvm_is_stopping(&kvm));
	kvm_request_stop(&kvm, LKVM_EXIT_CRASH);
	kvm_request_stop(&kvm, LKVM_EXIT_OK);
	assert_true(kvm_is_stopping(&kvm));
	assert_int_equal(kvm_stop_status(&kvm), LKVM_EXIT_CRASH);
	/* every request kicks: a vCPU started meanwhile must leave too */
	assert_int_equal(kicks, 2);
	assert_false(kvm_stop_rearm(&kvm));
	assert_true(kvm_is_stopping(&kvm));
	kvm_stop_destroy(&kvm.stop);
}

/* --reboot: a reset re-arms, unless a real stop came in meanwhile. */
static void test_reset_rearm(void **state)
{
	static struct kvm kvm;

	setup(&kvm);
	kvm_request_stop(&kvm, LKVM_EXIT_RESET);
	assert_true(kvm_stop_rearm(&kvm));
	assert_false(kvm_is_stopping(&kvm));

	kvm_request_stop(&kvm, LKVM_EXIT_RESET);
	kvm_request_stop(&kvm, LKVM_EXIT_SIGNAL + 15);
	assert_int_equal(kvm_stop_status(&kvm), LKVM_EXIT_SIGNAL + 15);
	assert_false(kvm_stop_rearm(&kvm));
	assert_true(kvm_is_stopping(&kvm));
	kvm_stop_destroy(&kvm.stop);
}

static void *stopper(void *arg)
{
	usleep(20000);
	kvm_request_stop(arg, LKVM_EXIT_OK);
	return NULL;
}

static void test_wait_for_request(void **state)
{
	static struct kvm kvm;
	pthread_t t;

	setup(&kvm);
	kvm.stop.kick = NULL;		/* no vCPUs yet: no hook */
	assert_int_equal(pthread_create(&t, NULL, stopper, &kvm), 0);
	kvm_stop_wait(&kvm);
	assert_true(kvm_is_stopping(&kvm));
	assert_int_equal(kvm_stop_status(&kvm), LKVM_EXIT_OK);
	pthread_join(t, NULL);
	kvm_stop_destroy(&kvm.stop);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_timeout(void **state)
{
	static struct kvm kvm;
	double t0;

	setup(&kvm);
	kvm_stop_set_timeout(&kvm, 0);
	assert_int_equal(kvm.stop.deadline.tv_sec, 0);
	kvm.cfg.timeout = 1;
	kvm_stop_set_timeout(&kvm, kvm.cfg.timeout);
	t0 = now();
	kvm_stop_wait(&kvm);
	assert_true(now() - t0 >= 0.9);
	assert_int_equal(kvm_stop_status(&kvm), LKVM_EXIT_TIMEOUT);
	assert_int_equal(kicks, 1);
	kvm_stop_destroy(&kvm.stop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_wins),
		cmocka_unit_test(test_reset_rearm),
		cmocka_unit_test(test_wait_for_request),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests_name("stop", tests, NULL, NULL);
}
