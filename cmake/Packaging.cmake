# Packaging.cmake: what `cmake --install` puts where, and the Debian package
# CPack builds from it (`cpack -G DEB` in a build tree). Included at the end
# of the top-level CMakeLists.txt; docs/deploy.md describes the result.
#
# Installed, relative to the prefix:
#   bin/cfx, bin/cfx-serve
#   lib/systemd/system/   the units of systemd/, ExecStart naming PREFIX/bin
#   lib/sysusers.d/cfx.conf, lib/tmpfiles.d/cfx.conf   (packaging/): the
#                         `cfx` system user and /srv/models, /var/lib/cfx,
#                         /etc/cfx
#   share/doc/cfx/        README.md, docs/, examples/, deploy/, Containerfile

set(CFX_SYSUSERS_DIR "lib/sysusers.d" CACHE STRING
    "Where the sysusers.d entry is installed, relative to the prefix")
set(CFX_TMPFILES_DIR "lib/tmpfiles.d" CACHE STRING
    "Where the tmpfiles.d entry is installed, relative to the prefix")

install(TARGETS cfx cfx-serve RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The units name the installed binaries: their ExecStart paths follow the
# prefix (the committed files carry the default, /usr/local/bin). The paths
# are written at install time, so `cmake --install . --prefix P` gets P/bin
# and the package (CPACK_SET_DESTDIR below: the prefix is /usr, the staging
# folder is DESTDIR) gets /usr/bin.
if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
  set(cfx_unit_bindir "${CMAKE_INSTALL_BINDIR}")
else()
  set(cfx_unit_bindir "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}")
endif()
file(GLOB CFX_UNITS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/systemd/*.service
                                      ${CMAKE_SOURCE_DIR}/systemd/*.timer)
foreach(u ${CFX_UNITS})
  get_filename_component(n ${u} NAME)
  install(CODE "
    file(READ \"${u}\" text)
    string(REPLACE \"/usr/local/bin/\" \"${cfx_unit_bindir}/\" text \"\${text}\")
    file(WRITE \"${CMAKE_BINARY_DIR}/systemd/${n}\" \"\${text}\")")
  install(FILES ${CMAKE_BINARY_DIR}/systemd/${n} DESTINATION ${CFX_SYSTEMD_UNITDIR})
endforeach()
install(FILES packaging/cfx.sysusers DESTINATION ${CFX_SYSUSERS_DIR} RENAME cfx.conf)
install(FILES packaging/cfx.tmpfiles DESTINATION ${CFX_TMPFILES_DIR} RENAME cfx.conf)

install(FILES README.md Containerfile DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY examples deploy DESTINATION ${CMAKE_INSTALL_DOCDIR})

# --- CPack: the Debian package ---------------------------------------------
# `cpack -G DEB` writes cfx_<version>_<arch>.deb. Its Depends are what
# dpkg-shlibdeps finds the binaries need (dpkg-dev) plus the sysusers and
# tmpfiles programs the maintainer scripts run (packaging/deb/): systemd
# provides both, a container without systemd gets the standalone ones.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "cfx")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "ML pipeline (TFX-compatible) and model server (TF-Serving-compatible)")
set(CPACK_PACKAGE_DESCRIPTION
    "cfx runs a TFX-style pipeline (examplegen, statistics, schema, \
validation, transform, train, evaluate, push) from the command line or a \
systemd timer; cfx-serve serves the pushed models over TensorFlow \
Serving's REST and gRPC APIs.")
set(CFX_PACKAGE_MAINTAINER "cfx maintainers <cfx@invalid>" CACHE STRING
    "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${CFX_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
# Install with CMAKE_INSTALL_PREFIX=/usr into DESTDIR=<staging>, so the
# ExecStart paths written at install time are the installed ones.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "systemd-standalone-sysusers | systemd-sysusers, systemd-standalone-tmpfiles | systemd-tmpfiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
    ${CMAKE_SOURCE_DIR}/packaging/deb/prerm
    ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
