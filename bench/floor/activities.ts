// The floor's one activity: it does nothing, so what is left is Temporal's own cost.
export async function floorSend(index: number): Promise<number> {
  return index;
}
