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
	char line[64];
	const char *name = argc > 1 ? argv[1] : "world";

	if (strcmp(name, "-") == 0 && fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		name = line;
	}
	puts(greeting(name));
	return 0;
}
