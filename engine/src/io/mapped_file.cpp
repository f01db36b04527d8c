// MappedFile: POSIX mmap, with a Windows branch (CreateFileMapping/MapViewOfFile) kept in step but
// untested. The file handle is closed right after mapping on POSIX; the mapping keeps the pages.
#include "io/mapped_file.h"

#include "gander/gander.h"

#include <cerrno>
#include <cstring>
#include <utility>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#define NOMINMAX
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace gander::io {

namespace {

#ifdef _WIN32
std::string last_error_text() {
    DWORD code = GetLastError();
    char buf[512] = {};
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
                             code, 0, buf, sizeof buf, nullptr);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == '.')) buf[--n] = 0;
    return n ? std::string(buf, n) : "error " + std::to_string(code);
}
#else
[[noreturn]] void fail_errno(const std::string& path, const char* what, int err) {
    throw Error(path + ": " + what + ": " + std::strerror(err));
}
#endif

} // namespace

#ifdef _WIN32

MappedFile::MappedFile(const std::string& path) : m_path(path) {
    // Narrow paths go through the ANSI code page; callers with non-ASCII paths on Windows will
    // need a UTF-16 conversion here.
    HANDLE file = CreateFileA(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) throw Error(path + ": cannot open: " + last_error_text());
    LARGE_INTEGER size{};
    if (!GetFileSizeEx(file, &size)) {
        std::string why = last_error_text();
        CloseHandle(file);
        throw Error(path + ": cannot read size: " + why);
    }
    m_size = static_cast<std::size_t>(size.QuadPart);
    if (m_size == 0) {
        CloseHandle(file);
        return;
    }
    HANDLE mapping = CreateFileMappingA(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
    CloseHandle(file);
    if (!mapping) throw Error(path + ": cannot map: " + last_error_text());
    void* view = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
    if (!view) {
        std::string why = last_error_text();
        CloseHandle(mapping);
        throw Error(path + ": cannot map: " + why);
    }
    m_mapping = mapping;
    m_data = static_cast<const std::byte*>(view);
}

void MappedFile::unmap() noexcept {
    if (m_data) UnmapViewOfFile(m_data);
    if (m_mapping) CloseHandle(static_cast<HANDLE>(m_mapping));
    m_data = nullptr;
    m_mapping = nullptr;
    m_size = 0;
}

#else

MappedFile::MappedFile(const std::string& path) : m_path(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail_errno(path, "cannot open", errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        fail_errno(path, "cannot stat", err);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a regular file");
    }
    m_size = static_cast<std::size_t>(st.st_size);
    if (m_size == 0) {
        ::close(fd);
        return;
    }
    void* p = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) {
        m_size = 0;
        fail_errno(path, "cannot map", err);
    }
    m_data = static_cast<const std::byte*>(p);
}

void MappedFile::unmap() noexcept {
    if (m_data) ::munmap(const_cast<std::byte*>(m_data), m_size);
    m_data = nullptr;
    m_size = 0;
}

#endif

MappedFile::~MappedFile() {
    unmap();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_path(std::move(other.m_path)), m_data(std::exchange(other.m_data, nullptr)),
      m_size(std::exchange(other.m_size, 0))
#ifdef _WIN32
      ,
      m_mapping(std::exchange(other.m_mapping, nullptr))
#endif
{
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        unmap();
        m_path = std::move(other.m_path);
        m_data = std::exchange(other.m_data, nullptr);
        m_size = std::exchange(other.m_size, 0);
#ifdef _WIN32
        m_mapping = std::exchange(other.m_mapping, nullptr);
#endif
    }
    return *this;
}

} // namespace gander::io
