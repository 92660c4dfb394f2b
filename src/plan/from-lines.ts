/** True when a FROM line of a rendered Dockerfile (any build stage) names exactly this image reference. */
export function fromNames(dockerfile: string, reference: string): boolean {
  return dockerfile.split('\n').some((line) => {
    const words = /^\s*FROM\s+(.+)$/i.exec(line)?.[1]?.trim().split(/\s+/) ?? [];
    return words.find((word) => !word.startsWith('--')) === reference;
  });
}
