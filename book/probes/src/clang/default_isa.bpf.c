// A 32-bit comparison: ISA v1 has only "greater than" jumps on 64-bit
// registers, v2 adds "less than", v3 adds jumps on 32-bit registers (w1).
unsigned int pick(unsigned int a, unsigned int b)
{
	return a < b ? a * 3 : b + 7;
}
