FROM busybox AS base
ARG GREETING=unset
RUN echo "base:$GREETING" > /msg

FROM base AS final
ARG GREETING
RUN echo "final:$GREETING" > /msg

FROM base AS other
