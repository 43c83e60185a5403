#include <cstdio>
int main() { std::puts("iomtflow"); return 0; }
