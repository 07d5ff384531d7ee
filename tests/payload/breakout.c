/* The classic chroot escape: chroot into a subdirectory without changing into it,
 * climb with "..", chroot into wherever that lands, then list "/". Inside a container
 * that pivoted and detached the old root, it must still land in the container's root. */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    mkdir("/tmp/jail", 0755);
    if (chroot("/tmp/jail") != 0) { perror("chroot jail"); return 1; }
    for (int i = 0; i < 64; i++) chdir("..");
    if (chroot(".") != 0) { perror("chroot ."); return 1; }
    DIR *d = opendir("/");
    if (!d) { perror("opendir"); return 1; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') puts(e->d_name);
    return 0;
}
