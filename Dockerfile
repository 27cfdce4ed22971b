# The billing service: one static binary (pure-Go SQLite, no cgo).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/billing ./cmd/billing

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/billing /usr/local/bin/billing
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/billing"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
