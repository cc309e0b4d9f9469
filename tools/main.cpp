#include <cstdio>
int main() { std::puts("fewerframes"); return 0; }
