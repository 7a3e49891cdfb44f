/* A static C program for Axiom's in-kernel tests: arguments, environment,
 * stdio, the heap, a file from the initramfs, the clock and a sleep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv, char **envp)
{
	printf("hello from C: argc %d", argc);
	for (int i = 0; i < argc; i++)
		printf(" [%s]", argv[i]);
	printf("\n");
	for (char **e = envp; *e; e++)
		printf("env %s\n", *e);
	size_t n = 1 << 20;
	unsigned char *p = malloc(n);
	if (!p)
		return 2;
	memset(p, 7, n);
	unsigned long sum = 0;
	for (size_t i = 0; i < n; i += 4096)
		sum += p[i];
	free(p);
	printf("heap ok %lu\n", sum);
	FILE *f = fopen("/etc/motd", "r");
	char line[128] = "";
	if (!f || !fgets(line, sizeof(line), f))
		return 3;
	fclose(f);
	printf("motd: %s", line);
	struct timespec a, b, d = { 0, 3000000 };
	clock_gettime(CLOCK_MONOTONIC, &a);
	nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long us = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	printf("slept %s\n", us >= 3000 ? "enough" : "too little");
	return us >= 3000 ? 0 : 4;
}
