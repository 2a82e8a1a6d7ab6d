#include <stdio.h>
#include <string.h>

static const char *greeting(const char *name)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "Hello, %s", name);
	return buf;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "world";
	puts(greeting(name));
	return 0;
}
