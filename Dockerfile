# One image for every Gatehouse component; the command picks which (gatehouse cloud|edge|sim --config F).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig*.json ./
COPY contracts contracts
COPY edge edge
COPY cloud cloud
COPY firmware-sim firmware-sim
COPY cli cli
COPY bench bench
COPY console console
COPY examples examples
# npm ci compiles the workspaces (prepare); the console is built before the dev tools are pruned.
RUN npm ci --no-audit --no-fund && npm run build -w @gatehouse/console && npm prune --omit=dev --no-audit --no-fund
ENV NODE_ENV=production
ENTRYPOINT ["node", "cli/bin/gatehouse.js"]
CMD ["--help"]
